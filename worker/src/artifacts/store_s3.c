/* store_s3.c — the S3-compatible back end of the artifact store (store.h).
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, "aws:amz:REGION:s3", path-
 * style URLs endpoint/bucket/key). Every body is sent from memory, one part
 * (SANDQ_S3_PART_BYTES, 8 MiB by default) per request, SANDQ_S3_PARALLEL (4)
 * requests at a time, as POSTFIELDS with a PUT: libcurl then signs the body's own SHA-256 (x-amz-content-sha256, which
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

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const sq_art_stop *stop = user;
    return stop && stop->fn(stop->user) ? 1 : 0; /* non-zero aborts the transfer */
}

/* One signed request, set up but not performed (s3_begin), so that parts can
 * run side by side on a curl multi handle; s3_end judges its answer. The body
 * is not copied: it must outlive the request. */
typedef struct s3_req {
    CURL *c;
    struct curl_slist *hdr;
    const char *method;
    resp r;
} s3_req;

static void s3_free(s3_req *q)
{
    if (!q)
        return;
    curl_slist_free_all(q->hdr);
    curl_easy_cleanup(q->c);
    free(q);
}

/* query may be ""; body/len may be NULL/0; body_sha is the body's SHA-256 in
 * hex when the caller has it already (NULL: computed here). */
static s3_req *s3_begin(const sq_art_store *s, const sq_art_stop *stop, const char *method, const char *okey_enc,
                        const char *query, const void *body, size_t len, const char *body_sha,
                        const char *content_type, sq_err *err)
{
    s3_req *q = calloc(1, sizeof *q);
    if (!q || !(q->c = curl_easy_init())) {
        free(q);
        sq_err_set(err, SQ_INTERNAL, "out of memory (curl)");
        return NULL;
    }
    q->method = method;
    CURL *c = q->c;
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
    q->hdr = curl_slist_append(NULL, hsha);
    q->hdr = curl_slist_append(q->hdr, "Expect:");
    snprintf(hct, sizeof hct, "Content-Type: %s", content_type ? content_type : "application/octet-stream");
    q->hdr = curl_slist_append(q->hdr, hct);
    /* libcurl copies every string option (not the body, not the list). */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    OPENSSL_cleanse(userpwd, sizeof userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, q->hdr);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &q->r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &q->r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->s3_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PRIVATE, q);
    if (stop) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    return q;
}

static int s3_end(const sq_art_store *s, s3_req *q, CURLcode rc, sq_err *err)
{
    long status = 0;
    curl_easy_getinfo(q->c, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return sq_err_set(err, SQ_CANCELED, "upload stopped: the sandbox is being killed");
    if (rc != CURLE_OK)
        return sq_err_set(err, SQ_INTERNAL, "artifact store: %s %s: %s", q->method, s->s3_endpoint,
                          curl_easy_strerror(rc));
    /* CompleteMultipartUpload can fail with 200 and an <Error> body. */
    if (status / 100 != 2 || strstr(q->r.body, "<Error>")) {
        char why[300];
        s3_error_text(&q->r, why, sizeof why);
        return sq_err_set(err, SQ_INTERNAL, "artifact store: %s refused by S3 (HTTP %ld%s%s)", q->method, status,
                          why[0] ? ": " : "", why);
    }
    return 0;
}

/* One request, performed now. The answer (body, ETag) is copied into r. */
static int s3_call(const sq_art_store *s, const sq_art_stop *stop, const char *method, const char *okey_enc,
                   const char *query, const void *body, size_t len, const char *body_sha, const char *content_type,
                   resp *r, sq_err *err)
{
    s3_req *q = s3_begin(s, stop, method, okey_enc, query, body, len, body_sha, content_type, err);
    if (!q)
        return -1;
    int rc = s3_end(s, q, curl_easy_perform(q->c), err);
    memcpy(r, &q->r, sizeof *r);
    s3_free(q);
    return rc;
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

#define PART_ETAG_MAX 200

/* The parts of a multipart upload, up to SANDQ_S3_PARALLEL at a time on one
 * curl multi handle (a store's latency per request — for a file system behind
 * it, its fsync per part — overlaps instead of adding up). Parts are read and
 * hashed into md in order; each keeps its own buffer until its answer. */
static int upload_parts(const sq_art_store *s, const sq_art_stop *stop, int fd, uint64_t size, size_t part,
                        const char *enc, const char *uid_enc, const char *content_type, EVP_MD_CTX *md,
                        char (*etags)[PART_ETAG_MAX], sq_err *err)
{
    uint64_t parts = (size + part - 1) / part, next = 0, finished = 0;
    int width = s->s3_parallel < 1 ? 1 : s->s3_parallel > 16 ? 16 : (int)s->s3_parallel;
    struct {
        s3_req *q;
        unsigned char *buf;
        uint64_t index;
    } slot[16];
    memset(slot, 0, sizeof slot);
    CURLM *m = curl_multi_init();
    int rc = m ? 0 : sq_err_set(err, SQ_INTERNAL, "curl_multi_init");
    while (rc == 0 && finished < parts) {
        for (int k = 0; k < width && next < parts && rc == 0; k++) {
            if (slot[k].q)
                continue;
            uint64_t off = next * part;
            size_t n = size - off < part ? (size_t)(size - off) : part;
            if (!slot[k].buf && !(slot[k].buf = malloc(part))) {
                rc = sq_err_set(err, SQ_INTERNAL, "out of memory");
                break;
            }
            if (read_at(fd, slot[k].buf, n, off, err) < 0) {
                rc = -1;
                break;
            }
            EVP_DigestUpdate(md, slot[k].buf, n);
            char q[1800];
            snprintf(q, sizeof q, "partNumber=%llu&uploadId=%s", (unsigned long long)(next + 1), uid_enc);
            slot[k].q = s3_begin(s, stop, "PUT", enc, q, slot[k].buf, n, NULL, content_type, err);
            if (!slot[k].q) {
                rc = -1;
                break;
            }
            slot[k].index = next++;
            curl_multi_add_handle(m, slot[k].q->c);
        }
        if (rc < 0)
            break;
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while (rc == 0 && (msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            int k = 0;
            while (k < width && (!slot[k].q || slot[k].q->c != msg->easy_handle))
                k++;
            if (k == width)
                continue;
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(m, slot[k].q->c);
            if (s3_end(s, slot[k].q, res, err) < 0)
                rc = -1;
            else if (!slot[k].q->r.etag[0] || strlen(slot[k].q->r.etag) >= PART_ETAG_MAX)
                rc = sq_err_set(err, SQ_INTERNAL, "artifact store: UploadPart gave no usable ETag");
            else
                snprintf(etags[slot[k].index], PART_ETAG_MAX, "%s", slot[k].q->r.etag);
            s3_free(slot[k].q);
            slot[k].q = NULL;
            finished++;
        }
        if (rc == 0 && running > 0)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (int k = 0; k < 16; k++) {
        if (slot[k].q) {
            curl_multi_remove_handle(m, slot[k].q->c);
            s3_free(slot[k].q);
        }
        free(slot[k].buf);
    }
    curl_multi_cleanup(m);
    return rc;
}

int sq_art_s3_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const char *content_type,
                  const sq_art_stop *stop, char sha256_out[65], sq_err *err)
{
    char okey[SQ_ART_KEY_MAX];
    char *enc = malloc(SQ_ART_KEY_MAX * 3 + 8);
    resp *r = malloc(sizeof *r);
    /* S3 takes at most 10,000 parts: a file larger than 10,000 parts of
     * the setting gets larger parts. */
    size_t part = (size_t)s->s3_part_bytes;
    if (size / 10000 + 1 > part)
        part = (size_t)(size / 10000 + 1);
    unsigned char *buf = size <= part ? malloc(size ? size : 1) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *complete = NULL;
    char (*etags)[PART_ETAG_MAX] = NULL;
    char upload_id[512] = "";
    int rc = -1;
    if (!enc || !r || (size <= part && !buf) || !md) {
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
        if (s3_call(s, stop, "PUT", enc, "", buf, (size_t)size, sha256_out, content_type, r, err) < 0)
            goto done;
        rc = 0;
        goto done;
    } else {
        if (s3_call(s, stop, "POST", enc, "uploads=", NULL, 0, NULL, content_type, r, err) < 0)
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
        etags = calloc(parts, sizeof *etags);
        size_t cap = 128 + parts * 400;
        complete = malloc(cap);
        if (!complete || !etags) {
            sq_err_set(err, SQ_INTERNAL, "out of memory");
            goto abort;
        }
        if (upload_parts(s, stop, fd, size, part, enc, uid_enc, content_type, md, etags, err) < 0)
            goto abort;
        size_t cl = (size_t)snprintf(complete, cap, "<CompleteMultipartUpload>");
        for (uint64_t i = 0; i < parts; i++)
            cl += (size_t)snprintf(complete + cl, cap - cl, "<Part><PartNumber>%llu</PartNumber><ETag>%s</ETag></Part>",
                                   (unsigned long long)(i + 1), etags[i]);
        cl += (size_t)snprintf(complete + cl, cap - cl, "</CompleteMultipartUpload>");
        char q[1700];
        snprintf(q, sizeof q, "uploadId=%s", uid_enc);
        if (s3_call(s, stop, "POST", enc, q, complete, cl, NULL, "application/xml", r, err) < 0)
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
        (void)s3_call(s, NULL, "DELETE", enc, q, NULL, 0, NULL, NULL, r, &ignore);
    }
done:
    EVP_MD_CTX_free(md);
    free(etags);
    free(complete);
    free(buf);
    free(r);
    free(enc);
    return rc;
}

/* GET into a file: the body goes straight to fd, at most max bytes. */
typedef struct get_sink {
    int fd;
    uint64_t written, max;
    bool over, failed;
} get_sink;

static size_t on_get_body(char *p, size_t sz, size_t n, void *user)
{
    get_sink *g = user;
    size_t k = sz * n;
    if (g->written + k > g->max) {
        g->over = true;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    for (size_t off = 0; off < k;) {
        ssize_t w = write(g->fd, p + off, k - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            g->failed = true;
            return 0;
        }
        off += (size_t)w;
    }
    g->written += k;
    return k;
}

static int object_enc(const sq_art_store *s, const char *key, char *enc, size_t n, sq_err *err)
{
    char okey[SQ_ART_KEY_MAX];
    if (sq_art_object_key(&s->loc, key, okey) < 0 || !sq_s3_uri_encode(okey, true, enc, n))
        return sq_err_set(err, SQ_INTERNAL, "artifact key too long");
    return 0;
}

int sq_art_s3_get(const sq_art_store *s, const char *key, int fd, uint64_t max, const sq_art_stop *stop,
                  uint64_t *size, sq_err *err)
{
    char *enc = malloc(SQ_ART_KEY_MAX * 3 + 8);
    if (!enc)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    int rc = -1;
    if (object_enc(s, key, enc, SQ_ART_KEY_MAX * 3 + 8, err) < 0)
        goto done;
    s3_req *q = s3_begin(s, stop, "GET", enc, "", NULL, 0, NULL, NULL, err);
    if (!q)
        goto done;
    get_sink g = {.fd = fd, .max = max};
    curl_easy_setopt(q->c, CURLOPT_WRITEFUNCTION, on_get_body);
    curl_easy_setopt(q->c, CURLOPT_WRITEDATA, &g);
    CURLcode cc = curl_easy_perform(q->c);
    long status = 0;
    curl_easy_getinfo(q->c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 404)
        sq_err_set(err, SQ_NOT_FOUND, "no such object in the artifact store");
    else if (g.over)
        sq_err_set(err, SQ_LIMIT_EXCEEDED, "the stored object is larger than %llu bytes", (unsigned long long)max);
    else if (g.failed)
        sq_err_errno(err, "writing the downloaded object");
    else if (cc == CURLE_ABORTED_BY_CALLBACK)
        sq_err_set(err, SQ_CANCELED, "download stopped: the sandbox is being killed");
    else if (cc != CURLE_OK)
        sq_err_set(err, SQ_INTERNAL, "artifact store: GET %s: %s", s->s3_endpoint, curl_easy_strerror(cc));
    else if (status / 100 != 2)
        sq_err_set(err, SQ_INTERNAL, "artifact store: GET refused by S3 (HTTP %ld)", status);
    else {
        *size = g.written;
        rc = 0;
    }
    s3_free(q);
done:
    free(enc);
    return rc;
}

int sq_art_s3_delete(const sq_art_store *s, const char *key, sq_err *err)
{
    char *enc = malloc(SQ_ART_KEY_MAX * 3 + 8);
    resp *r = malloc(sizeof *r);
    int rc = -1;
    if (!enc || !r)
        sq_err_set(err, SQ_INTERNAL, "out of memory");
    else if (object_enc(s, key, enc, SQ_ART_KEY_MAX * 3 + 8, err) == 0)
        rc = s3_call(s, NULL, "DELETE", enc, "", NULL, 0, NULL, NULL, r, err);
    free(r);
    free(enc);
    return rc;
}
