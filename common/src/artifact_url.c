/* artifact_url.c — see artifact_url.h. HMAC-SHA256 and SHA-256 come from libcrypto. */
#include "sq/artifact_url.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sq/codec.h"

static void hmac256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool bucket_valid(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' || b[i] == '.'))
            return false;
    return true;
}

static bool segment_valid(const char *s, size_t n)
{
    if (n == 0 || n > 128 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

bool sq_art_prefix_valid(const char *p)
{
    if (!p || !*p || strlen(p) > 256)
        return false;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (!segment_valid(p, n))
            return false;
        p += n;
        if (*p == '/')
            p++;
        if (*p == '\0' && p[-1] == '/')
            return false;
    }
    return true;
}

int sq_store_loc_parse(const char *url, const char *what, sq_store_loc *loc, sq_err *err)
{
    memset(loc, 0, sizeof *loc);
    if (url && strncmp(url, "file://", 7) == 0) {
        const char *d = url + 7;
        size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/')
            n--;
        if (d[0] != '/' || n >= sizeof loc->dir || strstr(d, "/../") || strstr(d, "/./"))
            return sq_err_field(err, SQ_INVALID_REQUEST, what, "%s: file:// needs an absolute directory (file:///var/lib/sandq/artifacts)", what);
        memcpy(loc->dir, d, n);
        loc->kind = SQ_STORE_FILE;
        return 0;
    }
    if (url && strncmp(url, "s3://", 5) == 0) {
        const char *b = url + 5;
        size_t bn = strcspn(b, "/");
        if (!bucket_valid(b, bn))
            return sq_err_field(err, SQ_INVALID_REQUEST, what, "%s: s3://BUCKET[/PREFIX] needs a bucket of 3-63 [a-z0-9.-]", what);
        memcpy(loc->bucket, b, bn);
        const char *p = b + bn;
        while (*p == '/')
            p++;
        size_t pn = strlen(p);
        while (pn > 0 && p[pn - 1] == '/')
            pn--;
        if (pn >= sizeof loc->prefix)
            return sq_err_field(err, SQ_INVALID_REQUEST, what, "%s: the prefix is too long", what);
        memcpy(loc->prefix, p, pn);
        if (pn && !sq_art_prefix_valid(loc->prefix))
            return sq_err_field(err, SQ_INVALID_REQUEST, what, "%s: prefix segments must be [A-Za-z0-9._-]", what);
        loc->kind = SQ_STORE_S3;
        return 0;
    }
    return sq_err_field(err, SQ_INVALID_REQUEST, what, "%s must be file:///DIR or s3://BUCKET[/PREFIX]", what);
}

int sq_art_key(const char *tenant, const char *artifact_prefix, const char *sandbox_id, const char *artifact_id,
               const char *rel_path, char out[SQ_ART_KEY_MAX], sq_err *err)
{
    if (!sq_art_prefix_valid(tenant))
        return sq_err_field(err, SQ_INVALID_REQUEST, "tenant", "tenant cannot be part of a storage key");
    if (artifact_prefix && *artifact_prefix && !sq_art_prefix_valid(artifact_prefix))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.capabilities.storage.artifactPrefix",
                            "artifactPrefix must be '/'-separated segments of [A-Za-z0-9._-] (no '.' or '..')");
    /* rel_path comes normalized (no "..", no leading '/'), so the key never
     * climbs out of its artifact's own directory. */
    bool bad = !rel_path || !*rel_path || rel_path[0] == '/';
    for (const char *s = rel_path; !bad && *s;) {
        size_t n = strcspn(s, "/");
        bad = n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
        s += n;
        if (*s == '/')
            s++;
    }
    if (bad)
        return sq_err_field(err, SQ_INVALID_REQUEST, "path", "bad artifact path");
    int n = snprintf(out, SQ_ART_KEY_MAX, "%s/%s%s%s/%s/%s", tenant, artifact_prefix && *artifact_prefix ? artifact_prefix : "",
                     artifact_prefix && *artifact_prefix ? "/" : "", sandbox_id, artifact_id, rel_path);
    if (n < 0 || n >= SQ_ART_KEY_MAX)
        return sq_err_field(err, SQ_INVALID_REQUEST, "path", "artifact key too long");
    return 0;
}

int sq_art_object_key(const sq_store_loc *loc, const char *key, char out[SQ_ART_KEY_MAX])
{
    int n = loc->prefix[0] ? snprintf(out, SQ_ART_KEY_MAX, "%s/%s", loc->prefix, key)
                           : snprintf(out, SQ_ART_KEY_MAX, "%s", key);
    return n < 0 || n >= SQ_ART_KEY_MAX ? -1 : 0;
}

void sq_art_sig(const unsigned char key[SQ_ART_HMAC_KEY_LEN], const char *artifact_id, int64_t exp_s, char out[65])
{
    char msg[128];
    int n = snprintf(msg, sizeof msg, "%s.%" PRId64, artifact_id, exp_s);
    unsigned char mac[32];
    hmac256(key, SQ_ART_HMAC_KEY_LEN, msg, (size_t)n, mac);
    hex(mac, 32, out);
}

int sq_art_url_sign(const unsigned char key[SQ_ART_HMAC_KEY_LEN], const char *base, const char *artifact_id,
                    int64_t exp_s, char out[SQ_ART_URL_MAX])
{
    char sig[65];
    sq_art_sig(key, artifact_id, exp_s, sig);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    int n = snprintf(out, SQ_ART_URL_MAX, "%.*s/artifacts/%s?exp=%" PRId64 "&sig=%s", (int)bl, base, artifact_id,
                     exp_s, sig);
    return n < 0 || n >= SQ_ART_URL_MAX ? -1 : 0;
}

int sq_art_url_verify(const unsigned char key[SQ_ART_HMAC_KEY_LEN], const char *artifact_id, const char *exp_text,
                      const char *sig_hex, int64_t now_s, sq_err *err)
{
    if (!exp_text || !sig_hex || strlen(sig_hex) != 64 || !*exp_text || strlen(exp_text) > 12)
        return sq_err_set(err, SQ_FORBIDDEN, "missing or malformed exp/sig");
    for (const char *p = exp_text; *p; p++)
        if (!isdigit((unsigned char)*p))
            return sq_err_set(err, SQ_FORBIDDEN, "malformed exp");
    int64_t exp = strtoll(exp_text, NULL, 10);
    char want[65];
    sq_art_sig(key, artifact_id, exp, want);
    /* Constant time: how much of a guess matched must not show in the timing. */
    if (CRYPTO_memcmp(want, sig_hex, 64) != 0)
        return sq_err_set(err, SQ_FORBIDDEN, "bad signature");
    if (exp < now_s)
        return sq_err_set(err, SQ_FORBIDDEN, "the URL expired");
    return 0;
}

int sq_art_url_key(const char *url_key_b64, const char *worker_key_b64, unsigned char out[SQ_ART_HMAC_KEY_LEN],
                   sq_err *err)
{
    unsigned char raw[64];
    if (url_key_b64 && *url_key_b64) {
        long n = sq_b64_decode(url_key_b64, strlen(url_key_b64), raw);
        if (n != SQ_ART_HMAC_KEY_LEN)
            return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_ARTIFACT_URL_KEY",
                                "SANDQ_ARTIFACT_URL_KEY must be base64 of 32 bytes");
        memcpy(out, raw, SQ_ART_HMAC_KEY_LEN);
        return 0;
    }
    if (worker_key_b64 && *worker_key_b64) {
        long n = sq_b64_decode(worker_key_b64, strlen(worker_key_b64), raw);
        if (n != 32)
            return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_WEBHOOK_SECRET_KEY",
                                "SANDQ_WEBHOOK_SECRET_KEY must be base64 of 32 bytes");
        /* A key of its own for URLs: a URL signature never doubles as anything
         * the sealing key protects. */
        static const char label[] = "sandq artifact urls v1";
        hmac256(raw, 32, label, sizeof label - 1, out);
        OPENSSL_cleanse(raw, sizeof raw);
        return 0;
    }
    return sq_err_set(err, SQ_INVALID_REQUEST, "no URL key: set SANDQ_ARTIFACT_URL_KEY or SANDQ_WEBHOOK_SECRET_KEY");
}

size_t sq_s3_uri_encode(const char *in, bool keep_slash, char *out, size_t outsz)
{
    static const char d[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/');
        if (o + 4 >= outsz)
            return 0;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = d[*p >> 4];
            out[o++] = d[*p & 15];
        }
    }
    out[o] = '\0';
    return o;
}

int sq_s3_endpoint_split(const char *endpoint, char scheme[8], char host[256], sq_err *err)
{
    const char *h;
    if (endpoint && strncmp(endpoint, "http://", 7) == 0) {
        strcpy(scheme, "http");
        h = endpoint + 7;
    } else if (endpoint && strncmp(endpoint, "https://", 8) == 0) {
        strcpy(scheme, "https");
        h = endpoint + 8;
    } else {
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_S3_ENDPOINT", "SANDQ_S3_ENDPOINT must be http(s)://HOST[:PORT]");
    }
    size_t n = strcspn(h, "/");
    if (n == 0 || n >= 256)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_S3_ENDPOINT", "SANDQ_S3_ENDPOINT has no host");
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
}

int sq_s3_presign_get(const sq_s3_presign_in *in, char out[SQ_ART_URL_MAX], sq_err *err)
{
    if (in->expires_s < 1 || in->expires_s > 604800)
        return sq_err_set(err, SQ_INVALID_REQUEST, "a presigned URL lives 1 s to 7 days");
    time_t t = (time_t)in->now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char amzdate[17], date[9];
    strftime(amzdate, sizeof amzdate, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);

    char cred[512], cred_enc[1024];
    snprintf(cred, sizeof cred, "%s/%s/%s/s3/aws4_request", in->access_key, date, in->region);
    if (!sq_s3_uri_encode(cred, false, cred_enc, sizeof cred_enc))
        return sq_err_set(err, SQ_INVALID_REQUEST, "access key too long");
    /* The query in canonical (byte-sorted) order. */
    char query[1600];
    snprintf(query, sizeof query,
             "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%" PRId64
             "&X-Amz-SignedHeaders=host",
             cred_enc, amzdate, in->expires_s);
    size_t creq_len = strlen(in->path) + strlen(query) + strlen(in->host) + 64;
    char *creq = malloc(creq_len);
    if (!creq)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    int cn = snprintf(creq, creq_len, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", in->path, query, in->host);
    unsigned char h[32];
    SHA256((const unsigned char *)creq, (size_t)cn, h);
    free(creq);
    char hh[65];
    hex(h, 32, hh);
    char sts[512];
    int sn = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amzdate, date, in->region, hh);

    char k0[300];
    int kn = snprintf(k0, sizeof k0, "AWS4%s", in->secret_key);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac256(k0, (size_t)kn, date, strlen(date), k1);
    hmac256(k1, 32, in->region, strlen(in->region), k2);
    hmac256(k2, 32, "s3", 2, k3);
    hmac256(k3, 32, "aws4_request", 12, k4);
    hmac256(k4, 32, sts, (size_t)sn, sig);
    OPENSSL_cleanse(k0, sizeof k0);
    char sh[65];
    hex(sig, 32, sh);
    int n = snprintf(out, SQ_ART_URL_MAX, "%s://%s%s?%s&X-Amz-Signature=%s", in->scheme, in->host, in->path, query, sh);
    return n < 0 || n >= SQ_ART_URL_MAX ? sq_err_set(err, SQ_INVALID_REQUEST, "URL too long") : 0;
}
