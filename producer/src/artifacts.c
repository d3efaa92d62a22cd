/* artifacts.c — sandq_artifacts_list, sandq_artifact_url, sandq_artifact_get: the
 * `artifacts` rows in PostgreSQL (sql/006, sql/012) and fresh download URLs signed
 * with the same pure code the workers use (sq/artifact_url.h), so a URL made here
 * is one a worker or the S3 server accepts. The download itself is libcurl. */
#include <curl/curl.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sq/artifact_url.h"
#include "sq/ids.h"

static sandq_code db_fail(sandq_error *err, PGconn *db, PGresult *r, const char *what)
{
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(db);
    char line[400];
    snprintf(line, sizeof line, "%s", m && *m ? m : "unknown error");
    line[strcspn(line, "\n")] = '\0';
    return sqp_fail(err, SANDQ_E_DATABASE, "%s: %s", what, line);
}

static PGconn *connect_db(sandq_client_t *c, sandq_error *err)
{
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {c->database_url, "5", NULL};
    PGconn *db = PQconnectdbParams(keys, vals, 1);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        db_fail(err, db, NULL, "cannot connect to PostgreSQL");
        PQfinish(db);
        return NULL;
    }
    return db;
}

#define COLS "id, sandbox_id, coalesce(task_id, ''), path, size_bytes, sha256, content_type, " \
             "(extract(epoch from created_at) * 1000)::bigint, tenant, storage_key, store_url"

sandq_code sandq_artifacts_list(sandq_client_t *c, const char *sandbox_id, sandq_artifact **out, size_t *count,
                                sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out || !count)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, out and count must not be NULL");
    *out = NULL;
    *count = 0;
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    PGconn *db = connect_db(c, err);
    if (!db)
        return err ? err->code : SANDQ_E_DATABASE;
    const char *p[] = {sandbox_id};
    PGresult *r = PQexecParams(db, "SELECT " COLS " FROM artifacts WHERE sandbox_id = $1 ORDER BY created_at, path",
                               1, NULL, p, NULL, NULL, 0);
    sandq_code rc = SANDQ_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = db_fail(err, db, r, "reading artifacts");
        goto done;
    }
    int n = PQntuples(r);
    size_t strings = 0;
    if (n < 0)
        n = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(PQgetvalue(r, i, 8), c->tenant) != 0) {
            rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "sandbox %s belongs to another tenant", sandbox_id);
            goto done;
        }
        strings += strlen(PQgetvalue(r, i, 3)) + strlen(PQgetvalue(r, i, 6)) + 2;
    }
    if (n <= 0)
        goto done;
    /* One allocation: the entries, then their strings. */
    sandq_artifact *v = calloc(1, (size_t)n * sizeof *v + strings);
    if (!v) {
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto done;
    }
    char *s = (char *)(v + n);
    for (int i = 0; i < n; i++) {
        snprintf(v[i].artifact_id, sizeof v[i].artifact_id, "%s", PQgetvalue(r, i, 0));
        snprintf(v[i].sandbox_id, sizeof v[i].sandbox_id, "%s", PQgetvalue(r, i, 1));
        snprintf(v[i].task_id, sizeof v[i].task_id, "%s", PQgetvalue(r, i, 2));
        v[i].path = strcpy(s, PQgetvalue(r, i, 3));
        s += strlen(s) + 1;
        v[i].size_bytes = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        snprintf(v[i].sha256, sizeof v[i].sha256, "%s", PQgetvalue(r, i, 5));
        v[i].content_type = strcpy(s, PQgetvalue(r, i, 6));
        s += strlen(s) + 1;
        v[i].created_at = strtoll(PQgetvalue(r, i, 7), NULL, 10);
    }
    *out = v;
    *count = (size_t)n;
done:
    PQclear(r);
    PQfinish(db);
    return rc;
}

typedef struct art_row {
    int64_t size;
    char sha256[65];
    char key[SQ_ART_KEY_MAX];
    char store[1100];
} art_row;

static sandq_code load_row(sandq_client_t *c, const char *artifact_id, art_row *row, sandq_error *err)
{
    if (!artifact_id || !sq_id_valid(artifact_id, "art"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not an artifact id",
                        artifact_id ? artifact_id : "(null)");
    PGconn *db = connect_db(c, err);
    if (!db)
        return err ? err->code : SANDQ_E_DATABASE;
    const char *p[] = {artifact_id};
    PGresult *r = PQexecParams(db, "SELECT " COLS " FROM artifacts WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
    sandq_code rc = SANDQ_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = db_fail(err, db, r, "reading artifacts");
    else if (PQntuples(r) == 0)
        rc = sqp_fail(err, SANDQ_E_NOT_FOUND, "no artifact %s", artifact_id);
    else if (strcmp(PQgetvalue(r, 0, 8), c->tenant) != 0)
        rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "artifact %s belongs to another tenant", artifact_id);
    else {
        row->size = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
        snprintf(row->sha256, sizeof row->sha256, "%s", PQgetvalue(r, 0, 5));
        snprintf(row->key, sizeof row->key, "%s", PQgetvalue(r, 0, 9));
        snprintf(row->store, sizeof row->store, "%s", PQgetvalue(r, 0, 10));
    }
    PQclear(r);
    PQfinish(db);
    return rc;
}

static const char *pick(const char *opt, const char *env1, const char *env2, const char *dflt)
{
    if (opt && *opt)
        return opt;
    const char *v = env1 ? getenv(env1) : NULL;
    if (v && *v)
        return v;
    v = env2 ? getenv(env2) : NULL;
    return v && *v ? v : dflt;
}

static sandq_code sign(sandq_client_t *c, const char *artifact_id, const art_row *row, const sandq_artifact_opts *o,
                       char *url, size_t url_size, sandq_error *err)
{
    int64_t ttl = o->ttl_s ? o->ttl_s : 3600;
    if (ttl < 60 || ttl > 604800)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "ttl_s must be 60 .. 604800");
    sq_store_loc loc;
    sq_err e;
    if (sq_store_loc_parse(row->store, "store_url", &loc, &e) < 0)
        return sqp_fail(err, SANDQ_E_PROTOCOL, "artifact %s: its store \"%s\" is not one this library knows",
                        artifact_id, row->store);
    char buf[SQ_ART_URL_MAX];
    int64_t now = (int64_t)time(NULL);
    if (loc.kind == SQ_STORE_FILE) {
        unsigned char key[SQ_ART_HMAC_KEY_LEN];
        if (sq_art_url_key(pick(o->url_key, "SANDQ_ARTIFACT_URL_KEY", NULL, NULL),
                           c->webhook_secret_key && *c->webhook_secret_key ? c->webhook_secret_key : NULL, key,
                           &e) < 0)
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "a directory store's URL needs the workers' key: %s", e.msg);
        if (sq_art_url_sign(key, pick(o->url_base, "SANDQ_ARTIFACT_URL_BASE", NULL, "http://127.0.0.1:9464"),
                            artifact_id, now + ttl, buf) < 0)
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "url_base too long");
    } else {
        char scheme[8], host[256];
        const char *access = pick(o->s3_access_key_id, "SANDQ_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", NULL);
        const char *secret = pick(o->s3_secret_access_key, "SANDQ_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", NULL);
        if (!access || !secret)
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "an S3 artifact URL needs s3_access_key_id and "
                                                       "s3_secret_access_key (or SANDQ_S3_ACCESS_KEY_ID, ...)");
        if (sq_s3_endpoint_split(pick(o->s3_endpoint, "SANDQ_S3_ENDPOINT", NULL, "https://s3.amazonaws.com"), scheme,
                                 host, &e) < 0)
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s", e.msg);
        char okey[SQ_ART_KEY_MAX], enc[SQ_ART_KEY_MAX * 3], path[SQ_ART_KEY_MAX * 3 + 80];
        if (sq_art_object_key(&loc, row->key, okey) < 0 || !sq_s3_uri_encode(okey, true, enc, sizeof enc))
            return sqp_fail(err, SANDQ_E_PROTOCOL, "artifact key too long");
        snprintf(path, sizeof path, "/%s/%s", loc.bucket, enc);
        sq_s3_presign_in in = {.scheme = scheme, .host = host, .path = path,
                               .region = pick(o->s3_region, "SANDQ_S3_REGION", "AWS_REGION", "us-east-1"),
                               .access_key = access, .secret_key = secret, .now_s = now, .expires_s = ttl};
        if (sq_s3_presign_get(&in, buf, &e) < 0)
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s", e.msg);
    }
    if (strlen(buf) >= url_size)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "url_size %zu is too small (%zu needed)", url_size, strlen(buf) + 1);
    strcpy(url, buf);
    return SANDQ_OK;
}

sandq_code sandq_artifact_url(sandq_client_t *c, const char *artifact_id, const sandq_artifact_opts *opts, char *url,
                              size_t url_size, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !url)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and url must not be NULL");
    sandq_artifact_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_artifact_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    art_row row;
    sandq_code rc = load_row(c, artifact_id, &row, err);
    return rc ? rc : sign(c, artifact_id, &row, &o, url, url_size, err);
}

typedef struct sink {
    FILE *f;
    EVP_MD_CTX *md;
    int64_t got;
    int64_t limit;
} sink;

static size_t on_data(char *p, size_t sz, size_t n, void *user)
{
    sink *s = user;
    size_t k = sz * n;
    /* Never more than the row says: a store answering with more is wrong. */
    if (s->got + (int64_t)k > s->limit)
        return 0;
    EVP_DigestUpdate(s->md, p, k);
    s->got += (int64_t)k;
    return fwrite(p, 1, k, s->f) == k ? k : 0;
}

sandq_code sandq_artifact_get(sandq_client_t *c, const char *artifact_id, const sandq_artifact_opts *opts,
                              const char *out_path, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out_path || !*out_path)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out_path must not be NULL");
    sandq_artifact_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_artifact_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    art_row row;
    char *url = malloc(SQ_ART_URL_MAX);
    if (!url)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    sandq_code rc = load_row(c, artifact_id, &row, err);
    if (!rc)
        rc = sign(c, artifact_id, &row, &o, url, SQ_ART_URL_MAX, err);
    if (rc) {
        free(url);
        return rc;
    }
    char part[4200];
    if (snprintf(part, sizeof part, "%s.part", out_path) >= (int)sizeof part) {
        free(url);
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "out_path too long");
    }
    sink s = {.f = fopen(part, "wb"), .md = EVP_MD_CTX_new(), .limit = row.size};
    if (!s.f || !s.md) {
        rc = sqp_fail(err, SANDQ_E_IO, "%s: %s", part, strerror(errno));
        goto done;
    }
    EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
    CURL *h = curl_easy_init();
    if (!h) {
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "curl_easy_init");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (fclose(s.f) != 0 && cc == CURLE_OK)
        cc = CURLE_WRITE_ERROR;
    s.f = NULL;
    if (status == 403 || status == 401)
        rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "the artifact store refused the URL (HTTP %ld)", status);
    else if (status == 404)
        rc = sqp_fail(err, SANDQ_E_NOT_FOUND, "the artifact store has no %s (HTTP 404)", artifact_id);
    else if (cc != CURLE_OK && s.got >= row.size && cc == CURLE_WRITE_ERROR)
        rc = sqp_fail(err, SANDQ_E_INTEGRITY, "the store sent more than the artifact's %lld bytes",
                      (long long)row.size);
    else if (cc != CURLE_OK)
        rc = sqp_fail(err, SANDQ_E_IO, "download of %s: %s", artifact_id, curl_easy_strerror(cc));
    if (rc)
        goto done;
    unsigned char md[32];
    unsigned int ml = 32;
    EVP_DigestFinal_ex(s.md, md, &ml);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if (s.got != row.size || strcmp(hex, row.sha256) != 0) {
        rc = sqp_fail(err, SANDQ_E_INTEGRITY, "artifact %s: got %lld bytes with sha256 %s, expected %lld bytes with %s",
                      artifact_id, (long long)s.got, hex, (long long)row.size, row.sha256);
        goto done;
    }
    if (rename(part, out_path) < 0)
        rc = sqp_fail(err, SANDQ_E_IO, "rename to %s: %s", out_path, strerror(errno));
done:
    if (s.f)
        fclose(s.f);
    if (rc)
        unlink(part);
    EVP_MD_CTX_free(s.md);
    free(url);
    return rc;
}
