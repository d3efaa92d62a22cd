/* files.c — files.write (chunked, pipelined, verified), files.read (reassembled,
 * verified), files.list and files.remove. Chunk rules: docs/internals.md "Files". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "internal.h"
#include "sq/clock.h"
#include "sq/codec.h"

/* files.write requests in flight at once: enough to keep the worker busy while the
 * next chunk travels, few enough to bound memory (each is ~700 KiB of base64). */
#define WRITE_WINDOW 4
#define READ_MAX_DEFAULT ((size_t)256 << 20)

static const char *result_str(const json_t *result, const char *key)
{
    const json_t *v = json_object_get(result, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t result_int(const json_t *result, const char *key, int64_t fallback)
{
    const json_t *v = json_object_get(result, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : fallback;
}

static sandq_code check_path(const char *path, sandq_error *err)
{
    if (!path || !*path)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "path is empty");
    return SANDQ_OK;
}

/* ---- write ---- */

typedef struct write_slot {
    sqp_taskstate ts;
    uint64_t off;
    size_t len;
    char sha256[65];
} write_slot;

/* The chunk's answer must say it wrote exactly our bytes. */
static sandq_code verify_chunk(const write_slot *s, size_t idx, size_t n, sandq_error *err)
{
    const json_t *r = s->ts.result;
    const char *sha = result_str(r, "sha256");
    int64_t written = result_int(r, "written", -1);
    if (!r || !sha)
        return sqp_fail(err, SANDQ_E_PROTOCOL, "chunk %zu/%zu: task.completed has no result.sha256", idx + 1, n);
    if (written != (int64_t)s->len)
        return sqp_fail(err, SANDQ_E_INTEGRITY, "chunk %zu/%zu: worker wrote %lld bytes, sent %zu", idx + 1, n,
                        (long long)written, s->len);
    if (strcmp(sha, s->sha256) != 0)
        return sqp_fail(err, SANDQ_E_INTEGRITY, "chunk %zu/%zu: sha256 mismatch (sent %.12s…, worker %.12s…)",
                        idx + 1, n, s->sha256, sha);
    return SANDQ_OK;
}

sandq_code sandq_files_write(sandq_client_t *c, const char *sandbox_id, const char *path, const void *data,
                             size_t len, const sandq_write_opts *opts, sandq_write_result *result,
                             sandq_error *err)
{
    sqp_err_clear(err);
    sandq_write_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_write_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    opts = &o;
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    sandq_code rc = check_path(path, err);
    if (rc)
        return rc;
    if (len && !data)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "data is NULL");
    int64_t timeout = opts->timeout_ms > 0 ? opts->timeout_ms : c->timeout_ms;
    int64_t last_progress = sq_mono_ms();
    int64_t deadline = last_progress + timeout;
    size_t n = sqp_chunk_count(len, SQ_FILE_CHUNK_MAX);

    sqp_waiter w;
    if ((rc = sqp_waiter_open(c, sandbox_id, SQP_START_END, deadline, &w, err)))
        return rc;
    write_slot slots[WRITE_WINDOW];
    memset(slots, 0, sizeof slots);
    size_t sent = 0, finished = 0;
    int64_t size_after = -1;
    while (finished < n) {
        /* keep the window full */
        while (rc == SANDQ_OK && sent < n && sent - finished < WRITE_WINDOW) {
            write_slot *s = &slots[sent % WRITE_WINDOW];
            sqp_chunk_range(len, SQ_FILE_CHUNK_MAX, sent, &s->off, &s->len);
            const unsigned char *bytes = (const unsigned char *)data + s->off;
            sq_sha256_hex(s->len ? bytes : (const unsigned char *)"", s->len, s->sha256);
            json_t *body = sqp_body_files_write(path, s->len ? bytes : (const unsigned char *)"", s->len, s->off,
                                                sent == 0, opts->mode);
            if (!body) {
                rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
                break;
            }
            char task_id[SQ_ID_MAX], request_id[SQ_ID_MAX];
            sq_id_new("tsk", task_id);
            sqp_taskstate_init(&s->ts, task_id, NULL, NULL, NULL);
            rc = sqp_send(c, sandbox_id, "files.write", task_id, body, NULL, deadline, request_id, err);
            if (rc) {
                sqp_wrap(err, rc, "files.write chunk %zu/%zu", sent + 1, n);
                break;
            }
            snprintf(s->ts.request_id, sizeof s->ts.request_id, "%s", request_id);
            sent++;
        }
        if (rc)
            break;
        sq_event ev;
        bool got;
        rc = sqp_waiter_next(&w, deadline, &ev, &got, err);
        if (rc == SANDQ_E_WAIT_TIMEOUT) {
            char what[160];
            snprintf(what, sizeof what, "files.write %s chunk %zu/%zu on %s", path, finished + 1, n, sandbox_id);
            rc = sqp_fail_timeout(c, err, sq_mono_ms() - last_progress, what);
            break;
        }
        if (rc)
            break;
        if (!got)
            continue;
        for (size_t i = finished; i < sent; i++)
            if (sqp_taskstate_feed(&slots[i % WRITE_WINDOW].ts, &ev)) {
                last_progress = sq_mono_ms();
                deadline = last_progress + timeout;
            }
        sq_event_free(&ev);
        /* chunks finish in order (one FIFO per sandbox); retire every finished one */
        while (finished < sent && slots[finished % WRITE_WINDOW].ts.done) {
            write_slot *s = &slots[finished % WRITE_WINDOW];
            if (s->ts.code) {
                if (err)
                    *err = s->ts.err;
                rc = sqp_wrap(err, s->ts.code, "files.write chunk %zu/%zu", finished + 1, n);
            } else {
                rc = verify_chunk(s, finished, n, err);
                size_after = result_int(s->ts.result, "sizeBytes", -1);
            }
            sqp_taskstate_free(&s->ts);
            finished++;
            if (rc)
                break;
        }
        if (rc)
            break;
    }
    sqp_waiter_close(&w);
    for (size_t i = finished; i < sent; i++)
        sqp_taskstate_free(&slots[i % WRITE_WINDOW].ts);
    if (rc)
        return rc;
    if (size_after != (int64_t)len)
        return sqp_fail(err, SANDQ_E_INTEGRITY, "%s is %lld bytes after writing %zu", path, (long long)size_after,
                        len);
    if (result) {
        result->size_bytes = size_after;
        result->chunks = (int)n;
        sq_sha256_hex(len ? data : "", len, result->sha256);
    }
    return SANDQ_OK;
}

/* ---- read ---- */

/* A worker returns at most SANDQ_FILES_READ_MAX_BYTES per files.read (default
 * 4 MiB) and says `truncated` when it stopped there, so a file of any size is
 * read as ranges of at most this much, one request each. Asking for no more
 * than the default cap keeps a range from being cut on most workers; a smaller
 * cap only makes the ranges shorter (the next one starts where the answer
 * ended). */
#define READ_RANGE ((int64_t)4 << 20)

typedef struct read_buf {
    unsigned char *data;
    size_t cap;
    size_t max;
    size_t base;     /* where the current range starts in data */
    size_t high;     /* highest end offset received in the current range */
    uint64_t taken;  /* bytes taken in the range (de-duplicated): equals high unless there was a gap */
} read_buf;

static sandq_code collect(void *user, const char *stream, uint64_t offset, const void *bytes, size_t len,
                          sandq_error *err)
{
    read_buf *b = user;
    if (strcmp(stream, "data") != 0)
        return SANDQ_OK;
    if (offset > b->max || b->base + offset + len > b->max)
        return sqp_fail(err, SANDQ_E_LIMIT_EXCEEDED, "file is larger than the read limit of %zu bytes", b->max);
    size_t end = b->base + (size_t)offset + len;
    if (end + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < end + 1)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p)
            return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory for %zu bytes", cap);
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->base + offset, bytes, len);
    if (end - b->base > b->high)
        b->high = end - b->base;
    b->taken += len;
    return SANDQ_OK;
}

/* One files.read of [offset, offset + length): its bytes land at b->base.
 * Checks that they are contiguous and match the worker's length and sha256. */
static sandq_code read_range(sandq_client_t *c, const char *sandbox_id, const char *path, int64_t offset,
                             int64_t length, int64_t timeout_ms, read_buf *b, int64_t *got, int64_t *size,
                             bool *truncated, sandq_error *err)
{
    json_t *body = json_object();
    sqp_body_set_path(body, path);
    if (offset > 0)
        json_object_set_new(body, "offset", json_integer(offset));
    json_object_set_new(body, "length", json_integer(length));
    b->high = 0;
    b->taken = 0;
    sqp_taskstate ts;
    sandq_code rc = sqp_run_task(c, sandbox_id, "files.read", body, timeout_ms, true, collect, b, &ts, err);
    if (rc)
        goto out;
    const char *sha = result_str(ts.result, "sha256");
    int64_t n = result_int(ts.result, "length", -1);
    if (!sha || n < 0 || n > length) {
        rc = sqp_fail(err, SANDQ_E_PROTOCOL, "files.read %s: task.completed has no valid result.length/sha256", path);
        goto out;
    }
    if ((int64_t)b->high != n || b->taken != b->high) {
        rc = sqp_fail(err, SANDQ_E_INTEGRITY, "files.read %s at %lld: received %llu contiguous bytes of %lld", path,
                      (long long)offset, (unsigned long long)(b->taken == b->high ? b->high : b->taken),
                      (long long)n);
        goto out;
    }
    char mine[65];
    sq_sha256_hex(n ? b->data + b->base : (const unsigned char *)"", (size_t)n, mine);
    if (strcmp(mine, sha) != 0) {
        rc = sqp_fail(err, SANDQ_E_INTEGRITY, "files.read %s at %lld: sha256 mismatch (received %.12s…, worker %.12s…)",
                      path, (long long)offset, mine, sha);
        goto out;
    }
    *got = n;
    *size = result_int(ts.result, "sizeBytes", -1);
    *truncated = json_is_true(json_object_get(ts.result, "truncated"));
out:
    sqp_taskstate_free(&ts);
    return rc;
}

sandq_code sandq_files_read(sandq_client_t *c, const char *sandbox_id, const char *path,
                            const sandq_read_opts *opts, void **data, size_t *len, sandq_read_result *result,
                            sandq_error *err)
{
    sqp_err_clear(err);
    sandq_read_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_read_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    opts = &o;
    if (!c || !data || !len)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, data and len must not be NULL");
    *data = NULL;
    *len = 0;
    sandq_code rc = check_path(path, err);
    if (rc)
        return rc;
    if (opts->offset < 0 || opts->length < 0)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "offset and length must not be negative");
    read_buf b = {.max = opts->max_bytes ? opts->max_bytes : READ_MAX_DEFAULT};
    if (opts->length > 0 && (uint64_t)opts->length > b.max)
        return sqp_fail(err, SANDQ_E_LIMIT_EXCEEDED, "length %lld is larger than the read limit of %zu bytes",
                        (long long)opts->length, b.max);
    /* Ranges until the asked length, or the end of the file: a short range
     * the worker did not call truncated is the end (the file may also have
     * shrunk or grown meanwhile; each range is checked on its own). */
    int64_t pos = opts->offset, size = -1;
    for (;;) {
        int64_t ask = READ_RANGE;
        if (opts->length > 0 && opts->length - (pos - opts->offset) < ask)
            ask = opts->length - (pos - opts->offset);
        if (ask == 0)
            break;
        b.base = (size_t)(pos - opts->offset);
        int64_t got = 0;
        bool truncated = false;
        rc = read_range(c, sandbox_id, path, pos, ask, opts->timeout_ms, &b, &got, &size, &truncated, err);
        if (rc)
            goto out;
        pos += got;
        if (opts->length == 0 && size > pos && (uint64_t)(size - opts->offset) > b.max) {
            rc = sqp_fail(err, SANDQ_E_LIMIT_EXCEEDED, "%s is %lld bytes, larger than the read limit of %zu bytes",
                          path, (long long)size, b.max);
            goto out;
        }
        if (got == 0 || (got < ask && !truncated) || (opts->length == 0 && pos >= size))
            break;
    }
    size_t total = (size_t)(pos - opts->offset);
    if (!b.data && !(b.data = malloc(1))) {
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto out;
    }
    b.data[total] = '\0';
    if (result) {
        result->size_bytes = size;
        result->offset = opts->offset;
        sq_sha256_hex(b.data, total, result->sha256);
    }
    *data = b.data;
    *len = total;
    b.data = NULL;
out:
    free(b.data);
    return rc;
}

/* ---- list ---- */

typedef struct list_impl {
    sandq_file_list pub; /* first: sandq_file_list_free casts back */
    json_t *result;
    char *json;
    char *bytes; /* names and paths that came as nameB64/pathB64, decoded, one after the other */
} list_impl;

/* An entry's name or path: the UTF-8 field, or the bytes of its B64 twin
 * (a name that is not UTF-8), decoded into *pool. */
static const char *entry_bytes(const json_t *e, const char *key, const char *key_b64, char **pool)
{
    const char *v = result_str(e, key), *b = result_str(e, key_b64);
    if (v || !b)
        return v;
    size_t n = strlen(b);
    long len = sq_b64_decode(b, n, (unsigned char *)*pool);
    if (len < 0 || memchr(*pool, '\0', (size_t)len))
        return NULL;
    char *out = *pool;
    out[len] = '\0';
    *pool += len + 1;
    return out;
}

void sandq_file_list_free(sandq_file_list *list)
{
    if (!list)
        return;
    list_impl *l = (list_impl *)list;
    free(l->pub.entries);
    free(l->json);
    free(l->bytes);
    json_decref(l->result);
    free(l);
}

/* One page of a listing: its result (entries and, if more follow, nextCursor). */
static sandq_code list_page(sandq_client_t *c, const char *sandbox_id, const char *path, int recursive,
                            const char *cursor, int64_t timeout_ms, json_t **result, sandq_error *err)
{
    json_t *body = json_object();
    if (path && *path)
        sqp_body_set_path(body, path);
    if (recursive)
        json_object_set_new(body, "recursive", json_true());
    if (cursor)
        json_object_set_new(body, "cursor", json_string(cursor));
    sqp_taskstate ts;
    sandq_code rc = sqp_run_task(c, sandbox_id, "files.list", body, timeout_ms, false, NULL, NULL, &ts, err);
    if (rc == SANDQ_OK && !json_is_array(json_object_get(ts.result, "entries")))
        rc = sqp_fail(err, SANDQ_E_PROTOCOL, "files.list: task.completed has no result.entries");
    if (rc == SANDQ_OK) {
        *result = ts.result;
        ts.result = NULL;
    }
    sqp_taskstate_free(&ts);
    return rc;
}

/* A worker returns a listing in pages (at most 1000 entries and ~512 KiB each;
 * docs/protocol.md "Listing"): follow nextCursor and join the pages' entries
 * into one result, so callers see the whole listing as before. The walk is
 * bounded by the worker (10,000 entries); MAX_PAGES only guards against a
 * worker that hands back a cursor for ever. */
#define MAX_PAGES 1000

sandq_code sandq_files_list(sandq_client_t *c, const char *sandbox_id, const char *path, int recursive,
                            int64_t timeout_ms, sandq_file_list **out, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    *out = NULL;
    json_t *res = NULL; /* the joined listing */
    sandq_code rc = list_page(c, sandbox_id, path, recursive, NULL, timeout_ms, &res, err);
    for (int page = 1; rc == SANDQ_OK; page++) {
        const json_t *next = json_object_get(res, "nextCursor");
        if (!next)
            break;
        if (!json_is_string(next) || page >= MAX_PAGES) {
            rc = sqp_fail(err, SANDQ_E_PROTOCOL, "files.list: a listing of more than %d pages", MAX_PAGES);
            break;
        }
        json_t *more = NULL;
        rc = list_page(c, sandbox_id, path, recursive, json_string_value(next), timeout_ms, &more, err);
        if (rc)
            break;
        json_array_extend(json_object_get(res, "entries"), json_object_get(more, "entries"));
        json_t *cursor = json_object_get(more, "nextCursor");
        if (cursor)
            json_object_set(res, "nextCursor", cursor);
        else
            json_object_del(res, "nextCursor");
        json_decref(more);
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    const json_t *entries = json_object_get(res, "entries");
    list_impl *l = calloc(1, sizeof *l);
    size_t n = json_array_size(entries);
    if (l)
        l->pub.entries = calloc(n ? n : 1, sizeof *l->pub.entries);
    if (l)
        l->json = json_dumps(res, JSON_COMPACT);
    /* Room for every decoded nameB64/pathB64 (decoding shrinks base64). */
    size_t pool = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(entries, i);
        for (int k = 0; k < 2; k++) {
            const char *b = result_str(e, k ? "pathB64" : "nameB64");
            pool += b ? strlen(b) + 1 : 0;
        }
    }
    if (l)
        l->bytes = malloc(pool);
    char *next = l ? l->bytes : NULL;
    if (!l || !l->pub.entries || !l->json || !l->bytes) {
        if (l) {
            free(l->pub.entries);
            free(l->json);
            free(l->bytes);
        }
        free(l);
        json_decref(res);
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    l->result = res; /* entries' strings point into it */
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(entries, i);
        sandq_file_entry *fe = &l->pub.entries[l->pub.count];
        if (!json_is_object(e))
            continue;
        fe->name = entry_bytes(e, "name", "nameB64", &next);
        fe->path = entry_bytes(e, "path", "pathB64", &next);
        fe->type = result_str(e, "type");
        if (!fe->name)
            fe->name = "";
        if (!fe->path)
            fe->path = fe->name;
        if (!fe->type)
            fe->type = "other";
        fe->size_bytes = result_int(e, "sizeBytes", 0);
        fe->mode = (uint32_t)result_int(e, "mode", 0);
        fe->mtime = result_int(e, "mtime", 0);
        l->pub.count++;
    }
    l->pub.json = l->json;
    *out = &l->pub;
    return SANDQ_OK;
}

/* ---- remove ---- */

sandq_code sandq_files_remove(sandq_client_t *c, const char *sandbox_id, const char *path, int recursive,
                              int64_t timeout_ms, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    sandq_code rc = check_path(path, err);
    if (rc)
        return rc;
    json_t *body = json_object();
    sqp_body_set_path(body, path);
    if (recursive)
        json_object_set_new(body, "recursive", json_true());
    sqp_taskstate ts;
    rc = sqp_run_task(c, sandbox_id, "files.remove", body, timeout_ms, false, NULL, NULL, &ts, err);
    sqp_taskstate_free(&ts);
    return rc;
}
