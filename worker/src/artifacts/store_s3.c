/* store_s3.c — the S3-compatible back end of the artifact store (store.h).
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, "aws:amz:REGION:s3", path-
 * style URLs endpoint/bucket/key). Every body is sent from memory, at most one
 * part (SANDQ_S3_PART_BYTES, 8 MiB by default) at a time, as POSTFIELDS with a
 * PUT: libcurl then signs the body's own SHA-256 (x-amz-content-sha256, which
 * we compute and set), so the server checks the bytes as well as the
 * credentials, with any libcurl that has CURLOPT_AWS_SIGV4 (7.75+; the newer
 * ones' UNSIGNED-PAYLOAD default for uploads is never used).
 * A file of at most one part is one PUT; a larger one is a multipart upload
 * (CreateMultipartUpload, UploadPart per part, CompleteMultipartUpload; an
 * AbortMultipartUpload when anything fails, so no orphaned parts are billed). */
#include "artifacts/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESP_MAX (64 << 10)

typedef struct resp {
    char body[RESP_MAX + 1];
    size_t len;
    char etag[256];
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *user)
{
    resp *r = user;
    size_t k = sz * n, room = RESP_MAX - r->len;
    size_t c = k < room ? k : room; /* bounded: an S3 answer is small; the rest is dropped */
    memcpy(r->body + r->len, p, c);
    r->len += c;
    r->body[r->len] = '\0';
    return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *user)
{
    resp *r = user;
    size_t k = sz * n;
    if (k > 5 && strncasecmp(p, "etag:", 5) == 0) {
        const char *v = p + 5;
        size_t vn = k - 5;
        while (vn && (*v == ' ' || *v == '\t'))
            v++, vn--;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        if (vn < sizeof r->etag) {
            memcpy(r->etag, v, vn);
            r->etag[vn] = '\0';
        }
    }
    return k;
}

static void hexs(const unsigned char *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The first <Code> and <Message> of an S3 error body, for the log and err. */
static void s3_error_text(const resp *r, char *out, size_t n)
{
    const char *c = strstr(r->body, "<Code>"), *m = strstr(r->body, "<Message>");
    int cl = 0, ml = 0;
    if (c) {
        c += 6;
        cl = (int)strcspn(c, "<");
    }
    if (m) {
        m += 9;
        ml = (int)strcspn(m, "<");
    }
    snprintf(out, n, "%.*s%s%.*s", cl, c ? c : "", cl && ml ? ": " : "", ml > 200 ? 200 : ml, m ? m : "");
}

/* One signed request. query may be "" ; body/len may be NULL/0; body_sha is the
 * body's SHA-256 in hex when the caller has it already (NULL: computed here). */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const sq_art_stop *stop = user;
    return stop && stop->fn(stop->user) ? 1 : 0; /* non-zero aborts the transfer */
}

static int s3_call(const sq_art_store *s, const sq_art_stop *stop, const char *method, const char *okey_enc,
                   const char *query, const void *body, size_t len, const char *body_sha, const char *content_type,
                   resp *r, long *status, sq_err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return sq_err_set(err, SQ_INTERNAL, "curl_easy_init");
    char url[SQ_ART_KEY_MAX * 3 + 1024];
    snprintf(url, sizeof url, "%s://%s/%s/%s%s%s", s->s3_scheme, s->s3_host, s->loc.bucket, okey_enc,
             query[0] ? "?" : "", query);
    char sigv4[128], userpwd[600], hsha[128], hct[300];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", s->s3_region);
    snprintf(userpwd, sizeof userpwd, "%s:%s", s->s3_access, s->s3_secret);
    char hh[65];
    if (body_sha) {
        snprintf(hh, sizeof hh, "%s", body_sha);
    } else {
        unsigned char h[32];
        SHA256(body ? body : (const void *)"", len, h);
        hexs(h, 32, hh);
    }
    snprintf(hsha, sizeof hsha, "x-amz-content-sha256: %s", hh);
    struct curl_slist *hdr = curl_slist_append(NULL, hsha);
    hdr = curl_slist_append(hdr, "Expect:");
    snprintf(hct, sizeof hct, "Content-Type: %s", content_type ? content_type : "application/octet-stream");
    hdr = curl_slist_append(hdr, hct);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->s3_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (stop) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    r->len = 0;
    r->body[0] = '\0';
    r->etag[0] = '\0';
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    OPENSSL_cleanse(userpwd, sizeof userpwd);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return sq_err_set(err, SQ_CANCELED, "upload stopped: the sandbox is being killed");
    if (rc != CURLE_OK)
        return sq_err_set(err, SQ_INTERNAL, "artifact store: %s %s: %s", method, s->s3_endpoint,
                          curl_easy_strerror(rc));
    /* CompleteMultipartUpload can fail with 200 and an <Error> body. */
    if (*status / 100 != 2 || strstr(r->body, "<Error>")) {
        char why[300];
        s3_error_text(r, why, sizeof why);
        return sq_err_set(err, SQ_INTERNAL, "artifact store: %s refused by S3 (HTTP %ld%s%s)", method, *status,
                          why[0] ? ": " : "", why);
    }
    return 0;
}

/* Read exactly n bytes at off (the file may not shrink under us). */
static int read_at(int fd, unsigned char *buf, size_t n, uint64_t off, sq_err *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return sq_err_errno(err, "read");
        if (k == 0)
            return sq_err_set(err, SQ_INVALID_REQUEST, "the file shrank while it was exported");
        got += (size_t)k;
    }
    return 0;
}

int sq_art_s3_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const char *content_type,
                  const sq_art_stop *stop, char sha256_out[65], sq_err *err)
{
    char okey[SQ_ART_KEY_MAX];
    char *enc = malloc(SQ_ART_KEY_MAX * 3 + 8);
    resp *r = malloc(sizeof *r);
    size_t part = (size_t)s->s3_part_bytes;
    unsigned char *buf = malloc(size < part ? (size ? size : 1) : part);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *complete = NULL;
    char upload_id[512] = "";
    int rc = -1;
    long status;
    if (!enc || !r || !buf || !md) {
        sq_err_set(err, SQ_INTERNAL, "out of memory");
        goto done;
    }
    if (sq_art_object_key(&s->loc, key, okey) < 0 || !sq_s3_uri_encode(okey, true, enc, SQ_ART_KEY_MAX * 3 + 8)) {
        sq_err_set(err, SQ_INTERNAL, "artifact key too long");
        goto done;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);

    if (size <= part) {
        /* One part: the file's own hash is the payload hash, computed once. */
        if (read_at(fd, buf, (size_t)size, 0, err) < 0)
            goto done;
        unsigned char h[32];
        SHA256(buf, (size_t)size, h);
        hexs(h, 32, sha256_out);
        if (s3_call(s, stop, "PUT", enc, "", buf, (size_t)size, sha256_out, content_type, r, &status, err) < 0)
            goto done;
        rc = 0;
        goto done;
    } else {
        if (s3_call(s, stop, "POST", enc, "uploads=", NULL, 0, NULL, content_type, r, &status, err) < 0)
            goto done;
        const char *u = strstr(r->body, "<UploadId>");
        size_t un = u ? strcspn(u + 10, "<") : 0;
        if (!u || un == 0 || un >= sizeof upload_id) {
            sq_err_set(err, SQ_INTERNAL, "artifact store: CreateMultipartUpload gave no UploadId");
            goto done;
        }
        memcpy(upload_id, u + 10, un);
        char uid_enc[1600];
        sq_s3_uri_encode(upload_id, false, uid_enc, sizeof uid_enc);
        uint64_t parts = (size + part - 1) / part;
        size_t cap = 128 + parts * 400;
        complete = malloc(cap);
        if (!complete) {
            sq_err_set(err, SQ_INTERNAL, "out of memory");
            goto abort;
        }
        size_t cl = (size_t)snprintf(complete, cap, "<CompleteMultipartUpload>");
        for (uint64_t i = 0; i < parts; i++) {
            uint64_t off = i * part;
            size_t n = size - off < part ? (size_t)(size - off) : part;
            char q[1800];
            snprintf(q, sizeof q, "partNumber=%llu&uploadId=%s", (unsigned long long)(i + 1), uid_enc);
            if (read_at(fd, buf, n, off, err) < 0 ||
                s3_call(s, stop, "PUT", enc, q, buf, n, NULL, content_type, r, &status, err) < 0)
                goto abort;
            if (!r->etag[0]) {
                sq_err_set(err, SQ_INTERNAL, "artifact store: UploadPart gave no ETag");
                goto abort;
            }
            EVP_DigestUpdate(md, buf, n);
            cl += (size_t)snprintf(complete + cl, cap - cl, "<Part><PartNumber>%llu</PartNumber><ETag>%s</ETag></Part>",
                                   (unsigned long long)(i + 1), r->etag);
        }
        cl += (size_t)snprintf(complete + cl, cap - cl, "</CompleteMultipartUpload>");
        char q[1700];
        snprintf(q, sizeof q, "uploadId=%s", uid_enc);
        if (s3_call(s, stop, "POST", enc, q, complete, cl, NULL, "application/xml", r, &status, err) < 0)
            goto abort;
    }
    unsigned char h[32];
    unsigned int hl = 32;
    EVP_DigestFinal_ex(md, h, &hl);
    hexs(h, 32, sha256_out);
    rc = 0;
    goto done;
abort:
    if (upload_id[0]) {
        char uid_enc[1600], q[1700];
        sq_s3_uri_encode(upload_id, false, uid_enc, sizeof uid_enc);
        snprintf(q, sizeof q, "uploadId=%s", uid_enc);
        sq_err ignore;
        (void)s3_call(s, NULL, "DELETE", enc, q, NULL, 0, NULL, NULL, r, &status, &ignore);
    }
done:
    EVP_MD_CTX_free(md);
    free(complete);
    free(buf);
    free(r);
    free(enc);
    return rc;
}
