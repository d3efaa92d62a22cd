/* artifact_url.h — the pure parts of the artifact store (issue 13): which store a
 * URL names, where an artifact lives in it (its key), and the two kinds of
 * download URL — a worker-served URL signed with HMAC-SHA256 over the artifact
 * id and an expiry, and an S3 SigV4 presigned GET.
 *
 * No I/O: the worker (worker/src/artifacts/) and libsandq (producer/src/artifacts.c,
 * which signs fresh URLs for `sandq artifacts get`) both use it, so the two can
 * never disagree about a key or a signature. Unit-tested in
 * tests/unit/test_artifact_url.c, SigV4 against AWS's published example. */
#ifndef SQ_ARTIFACT_URL_H
#define SQ_ARTIFACT_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"

#define SQ_ART_KEY_MAX 4608
#define SQ_ART_URL_MAX 8192
#define SQ_ART_HMAC_KEY_LEN 32

typedef enum sq_store_kind { SQ_STORE_FILE = 1, SQ_STORE_S3 = 2 } sq_store_kind;

typedef struct sq_store_loc {
    sq_store_kind kind;
    char dir[1024];     /* file: the absolute directory (no trailing '/') */
    char bucket[64];    /* s3: the bucket (3..63 of [a-z0-9.-]) */
    char prefix[512];   /* s3: the key prefix inside it, no leading or trailing '/', may be "" */
} sq_store_loc;

/* "file:///abs/dir" or "s3://bucket[/prefix]". The field named in err is `what`. */
int sq_store_loc_parse(const char *url, const char *what, sq_store_loc *loc, sq_err *err);

/* An artifactPrefix segment list is safe when every '/'-separated segment is
 * 1..128 of [A-Za-z0-9._-] and not "." or "..". */
bool sq_art_prefix_valid(const char *prefix);

/* The artifact's key, relative to the store: tenant/[artifactPrefix/]sandbox/artifactId/path
 * (path relative to /workspace, normalized by workspace_path.h). For S3 the store's
 * own prefix goes in front (sq_art_object_key). */
int sq_art_key(const char *tenant, const char *artifact_prefix, const char *sandbox_id, const char *artifact_id,
               const char *rel_path, char out[SQ_ART_KEY_MAX], sq_err *err);
/* The S3 object key of an artifact key: "<store prefix>/<key>" (or key alone). */
int sq_art_object_key(const sq_store_loc *loc, const char *key, char out[SQ_ART_KEY_MAX]);

/* Worker-served URLs: base "/artifacts/" artifactId "?exp=" unix seconds "&sig=" hex
 * HMAC-SHA256(key, artifactId "." exp). */
void sq_art_sig(const unsigned char key[SQ_ART_HMAC_KEY_LEN], const char *artifact_id, int64_t exp_s, char out[65]);
int sq_art_url_sign(const unsigned char key[SQ_ART_HMAC_KEY_LEN], const char *base, const char *artifact_id,
                    int64_t exp_s, char out[SQ_ART_URL_MAX]);
/* 0 when sig (hex) is right for id and exp and exp is not past now_s, compared in
 * constant time; -1 with a reason (bad signature / expired) otherwise. */
int sq_art_url_verify(const unsigned char key[SQ_ART_HMAC_KEY_LEN], const char *artifact_id, const char *exp_text,
                      const char *sig_hex, int64_t now_s, sq_err *err);
/* The URL key: SANDQ_ARTIFACT_URL_KEY (base64 of 32 bytes) when set, else one
 * derived from the webhook secret key (HMAC(worker key, "sandq artifact urls v1")),
 * so one shared key serves both. -1 when neither is set (or one is malformed). */
int sq_art_url_key(const char *url_key_b64, const char *worker_key_b64, unsigned char out[SQ_ART_HMAC_KEY_LEN],
                   sq_err *err);

/* S3 URI-encoding (RFC 3986 unreserved kept); slash kept when keep_slash. */
size_t sq_s3_uri_encode(const char *in, bool keep_slash, char *out, size_t outsz);

/* A SigV4 presigned GET for https?://host/path (path already URI-encoded, starting
 * with '/'), valid expires_s (1..604800) from now_s. */
typedef struct sq_s3_presign_in {
    const char *scheme;     /* "http" or "https" */
    const char *host;       /* host[:port] as sent in the Host header */
    const char *path;       /* encoded, e.g. "/bucket/a/b.txt" */
    const char *region;
    const char *access_key;
    const char *secret_key;
    int64_t now_s;
    int64_t expires_s;
} sq_s3_presign_in;
int sq_s3_presign_get(const sq_s3_presign_in *in, char out[SQ_ART_URL_MAX], sq_err *err);

/* Split an endpoint "http://host:port[/]" into scheme and host. */
int sq_s3_endpoint_split(const char *endpoint, char scheme[8], char host[256], sq_err *err);

#endif
