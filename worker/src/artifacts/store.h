/* store.h — the artifact store: one interface, two back ends chosen by the URL
 * in SANDQ_ARTIFACT_STORE (docs/artifacts.md):
 *   file:///DIR        a directory (the default, DIR = the workspace root's sibling
 *                      "artifacts"; a shared volume in a fleet); downloads are
 *                      worker-served URLs signed with HMAC (artifacts/serve.c)
 *   s3://BUCKET/PREFIX S3-compatible object storage (store_s3.c): SigV4 by
 *                      libcurl's CURLOPT_AWS_SIGV4, multipart upload above one
 *                      part, downloads are SigV4 presigned GETs
 * Keys and URLs are the pure sq/artifact_url.h; this is the I/O. */
#ifndef SQ_ARTIFACT_STORE_H
#define SQ_ARTIFACT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "sq/artifact_url.h"
#include "sq/err.h"

typedef struct sq_art_store {
    sq_store_loc loc;
    char url[1100];               /* SANDQ_ARTIFACT_STORE, canonical (no trailing '/'; recorded on each row) */
    /* download URLs */
    unsigned char url_key[SQ_ART_HMAC_KEY_LEN];
    char url_base[512];           /* SANDQ_ARTIFACT_URL_BASE: where the worker-served URLs point */
    int64_t url_ttl_s;            /* SANDQ_ARTIFACT_URL_TTL_S */
    /* limits */
    int64_t max_file_bytes;       /* SANDQ_ARTIFACT_MAX_BYTES: larger files are not exported */
    int64_t max_files;            /* SANDQ_ARTIFACT_MAX_FILES per task */
    /* s3 */
    char s3_scheme[8];
    char s3_host[256];
    char s3_endpoint[300];        /* SANDQ_S3_ENDPOINT */
    char s3_region[64];           /* SANDQ_S3_REGION, default us-east-1 */
    char s3_access[256];          /* SANDQ_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID) */
    char s3_secret[256];          /* SANDQ_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY) */
    int64_t s3_part_bytes;        /* SANDQ_S3_PART_BYTES: multipart part size (and threshold) */
    int64_t s3_timeout_ms;        /* SANDQ_S3_TIMEOUT_MS: one S3 request at most */
    int64_t s3_parallel;          /* SANDQ_S3_PARALLEL: parts of one upload in flight at once */
    /* checkpoints (docs/checkpoints.md) */
    int64_t ckpt_keep;            /* SANDQ_CHECKPOINT_KEEP: manual checkpoints kept per sandbox (older ones removed) */
    int64_t ckpt_auto_keep;       /* SANDQ_CHECKPOINT_AUTO_KEEP: automatic ones kept per sandbox, counted apart */
    int64_t ckpt_max_bytes;       /* SANDQ_CHECKPOINT_MAX_BYTES: largest archive a checkpoint may make */
    int64_t ckpt_timeout_ms;      /* SANDQ_CHECKPOINT_TIMEOUT_MS: tar's time inside the sandbox at most */
    char ckpt_tmp[1100];          /* where archives are spooled on the host: the store root's sibling checkpoint-tmp */
} sq_art_store;

/* From the environment. http_addr/http_port make the default URL base. The
 * directory store's DIR is created. An URL key missing from the environment
 * is made up per process (logged: the URLs then only work on this worker). */
int sq_art_store_from_env(sq_art_store *s, const char *workspace_root, const char *http_addr, int64_t http_port,
                          sq_err *err);

/* Asked during an upload (between chunks, and by libcurl's progress
 * callback): true stops it at once with SQ_CANCELED — a kill does not wait
 * for a large upload to finish. */
typedef struct sq_art_stop {
    bool (*fn)(void *user);
    void *user;
} sq_art_stop;

/* Upload size bytes of fd (a regular file, read from its start) under key,
 * computing its sha256. Fails when fewer bytes than size could be read.
 * stop may be NULL. */
int sq_art_store_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const char *content_type,
                     const sq_art_stop *stop, char sha256_out[65], sq_err *err);
/* A download URL valid url_ttl_s from now. */
int sq_art_store_url(const sq_art_store *s, const char *artifact_id, const char *key, int64_t now_s,
                     char out[SQ_ART_URL_MAX], sq_err *err);

/* Download key's object into fd (written from its current position), at
 * most max bytes (over: SQ_LIMIT_EXCEEDED); *size gets its length. A key
 * that is not there: SQ_NOT_FOUND. stop may be NULL. */
int sq_art_store_get(const sq_art_store *s, const char *key, int fd, uint64_t max, const sq_art_stop *stop,
                     uint64_t *size, sq_err *err);
/* Remove key's object; one already gone is not an error. */
int sq_art_store_delete(const sq_art_store *s, const char *key, sq_err *err);

/* file store: open key's file read-only (beneath DIR, no symlinks). */
int sq_art_store_open_file(const sq_art_store *s, const char *key, sq_err *err);

/* Back ends. */
int sq_art_file_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const sq_art_stop *stop,
                    char sha256_out[65], sq_err *err);
int sq_art_s3_get(const sq_art_store *s, const char *key, int fd, uint64_t max, const sq_art_stop *stop,
                  uint64_t *size, sq_err *err);
int sq_art_s3_delete(const sq_art_store *s, const char *key, sq_err *err);
int sq_art_s3_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const char *content_type,
                  const sq_art_stop *stop, char sha256_out[65], sq_err *err);

#endif
