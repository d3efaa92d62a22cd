/* files.c — files.write, files.read, files.list and files.remove, done on the
 * host side through ws_fs.h (kernel-checked resolution beneath /workspace).
 *
 * They run on the sandbox's actor thread, not in the exec loop, so each one
 * asks the control lane (lifecycle/control.h) between bounded steps: a read
 * chunk, a written piece, a listed or removed entry. A kill or task.cancel
 * then stops it at once (`canceled`), however large the sandbox made the
 * tree or the file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/ws_fs.h"
#include "lifecycle/control.h"
#include "lifecycle/task.h"
#include "handlers/handlers.h"
#include "sq/cleanup.h"
#include "sq/codec.h"
#include "sq/workspace_path.h"

#define LIST_MAX_ENTRIES 10000
#define LIST_MAX_DEPTH 32

/* A name or path in a result: the UTF-8 field when the bytes are UTF-8 (jansson
 * refuses anything else), else the same bytes as base64 in the B64 field, so a
 * name the sandbox made from any bytes is still listed and can be addressed
 * again (pathB64 in a request). */
static void put_bytes(json_t *obj, const char *key, const char *key_b64, const char *bytes)
{
    size_t n = strlen(bytes);
    json_t *v = json_stringn(bytes, n);
    if (v) {
        json_object_set_new(obj, key, v);
        return;
    }
    char *b64 = malloc(sq_b64_encoded_size(n));
    if (!b64)
        return;
    sq_b64_encode(bytes, n, b64);
    json_object_set_new(obj, key_b64, json_string(b64));
    free(b64);
}

/* A result with the absolute path: {"path": "/workspace/…"} or {"pathB64": …}. */
static json_t *path_result(const char *rel)
{
    char buf[4200];
    if (strcmp(rel, ".") == 0)
        snprintf(buf, sizeof buf, "%s", SQ_WORKSPACE_ROOT);
    else
        snprintf(buf, sizeof buf, "%s/%s", SQ_WORKSPACE_ROOT, rel);
    json_t *r = json_object();
    put_bytes(r, "path", "pathB64", buf);
    return r;
}

/* An error message quotes the path; events carry it as a JSON string, which
 * must be UTF-8. A message that is not gets its non-ASCII bytes as '?': it is
 * for a human, and the request itself had the exact bytes (pathB64). */
static void msg_as_text(sq_err *err)
{
    json_t *ok = json_string(err->msg);
    if (ok) {
        json_decref(ok);
        return;
    }
    for (char *c = err->msg; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
}

int sq_files_request_path(const json_t *body, char *rel, size_t rel_size, sq_err *err)
{
    const json_t *p = json_object_get(body, "path"), *b = json_object_get(body, "pathB64");
    if (!b)
        return sq_workspace_path(p ? json_string_value(p) : ".", "body.path", rel, rel_size, err);
    /* Validated as the request arrived (body_validate.c): base64 of 1–4096
     * bytes without NUL. */
    char raw[4200];
    size_t n = json_string_length(b);
    if (n / 4 * 3 >= sizeof raw)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.pathB64", "path is too long");
    long len = sq_b64_decode(json_string_value(b), n, (unsigned char *)raw);
    if (len <= 0 || memchr(raw, '\0', (size_t)len))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.pathB64", "pathB64 is not a path in base64");
    raw[len] = '\0';
    if (sq_workspace_path(raw, "body.pathB64", rel, rel_size, err) < 0) {
        msg_as_text(err);
        return -1;
    }
    return 0;
}

/* Between two bounded steps: -1 with err `canceled` when a kill or a cancel
 * of this task is pending (or the sandbox was taken over), else 0. */
static int stop_check(void *user, sq_err *err)
{
    sq_task *t = user;
    if (!sq_control_stop_task(t->w, t->sb))
        return 0;
    return sq_err_set(err, sq_control_stop_code(t->sb), "%s", sq_control_why_stopped(t->sb, t->req->task_id));
}

static void hex_digest(EVP_MD_CTX *md, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* In pieces of at most SQ_FILE_CHUNK_MAX, asking the control lane between
 * them. Returns -1 with errno for a write error, -2 with *err when stopped. */
static int write_all_at(sq_task *t, int fd, const unsigned char *buf, size_t len, off_t off, bool use_off,
                        sq_err *err)
{
    size_t done = 0;
    while (done < len) {
        if (done > 0 && stop_check(t, err) < 0)
            return -2;
        size_t piece = len - done < SQ_FILE_CHUNK_MAX ? len - done : SQ_FILE_CHUNK_MAX;
        ssize_t n = use_off ? pwrite(fd, buf + done, piece, off + (off_t)done) : write(fd, buf + done, piece);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

static void write_body(sq_task *t, sq_task_outcome *out, const char *rel)
{
    const json_t *body = t->req->body;
    const json_t *text = json_object_get(body, "content"), *b64 = json_object_get(body, "contentB64");
    sq_autofree unsigned char *data = NULL;
    size_t len;
    if (text) {
        len = json_string_length(text);
        data = malloc(len + 1);
        if (data)
            memcpy(data, json_string_value(text), len);
    } else {
        data = malloc(json_string_length(b64) / 4 * 3 + 3);
        long n = data ? sq_b64_decode(json_string_value(b64), json_string_length(b64), data) : -1;
        if (n < 0) {
            sq_err_field(&out->failure, SQ_INVALID_REQUEST, "body.contentB64", "contentB64 is not valid base64");
            return;
        }
        len = (size_t)n;
    }
    if (!data) {
        sq_err_set(&out->failure, SQ_INTERNAL, "out of memory");
        return;
    }
    const json_t *off = json_object_get(body, "offset");
    bool append = json_is_true(json_object_get(body, "append"));
    const json_t *mode = json_object_get(body, "mode");
    /* Permission bits only: the worker is host root, so setuid, setgid and
     * sticky bits asked for here would be set as root asks (and survive a
     * chown to the sandbox's uid done before the chmod). The workspace is
     * nosuid today; the mask keeps that from being the only line. */
    mode_t perm = mode ? (mode_t)json_integer_value(mode) & 0777 : 0644;
    int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : 0) | (off || append ? 0 : O_TRUNC);

    if (sq_ws_mkdir_parents(t->sb->workspace_fd, rel, t->sb->host_uid, t->sb->host_gid, &out->failure) < 0 ||
        stop_check(t, &out->failure) < 0)
        return;
    struct stat st;
    /* Non-blocking and regular files only: a FIFO the sandbox planted at this
     * path would hold the open until the sandbox read it (ws_fs.h). */
    sq_autoclose int fd = sq_ws_open_regular(t->sb->workspace_fd, rel, flags, perm, &st, &out->failure);
    if (fd < 0)
        return;
    /* A file we just created belongs to host root: hand it to the sandbox. */
    if (st.st_uid == 0 && fchown(fd, t->sb->host_uid, t->sb->host_gid) < 0) {
        sq_err_errno(&out->failure, "chown /workspace/%s", rel);
        return;
    }
    if (mode && fchmod(fd, perm) < 0) {
        sq_err_errno(&out->failure, "chmod /workspace/%s", rel);
        return;
    }
    int wrc = write_all_at(t, fd, data, len, off ? (off_t)json_integer_value(off) : 0, off != NULL, &out->failure);
    if (wrc == -2)
        return;
    if (wrc < 0) {
        if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
            sq_err_set(&out->failure, SQ_LIMIT_EXCEEDED, "the workspace is full");
        else
            sq_err_errno(&out->failure, "write /workspace/%s", rel);
        return;
    }
    fstat(fd, &st);
    char sha[65];
    sq_sha256_hex(data, len, sha);
    out->result = path_result(rel);
    json_object_update_new(out->result, json_pack("{s:I, s:I, s:s}", "sizeBytes", (json_int_t)st.st_size, "written",
                                                  (json_int_t)len, "sha256", sha));
}

static void read_body(sq_task *t, sq_task_outcome *out, const char *rel)
{
    const json_t *body = t->req->body;
    struct stat st;
    /* Not a FIFO or device: opening or reading one could block the worker forever. */
    sq_autoclose int fd = sq_ws_open_regular(t->sb->workspace_fd, rel, O_RDONLY, 0, &st, &out->failure);
    if (fd < 0)
        return;
    int64_t offset = json_integer_value(json_object_get(body, "offset"));
    const json_t *lenv = json_object_get(body, "length");
    int64_t asked = lenv ? json_integer_value(lenv) : INT64_MAX;
    /* Capped (SANDQ_FILES_READ_MAX_BYTES): one request is a bounded number of
     * events whatever the file (a sparse 100 GB file, one growing while we
     * read), and a caller that went away costs at most this much. Larger
     * files are read as ranges; `truncated` tells the caller to go on. */
    int64_t cap = t->w->cfg.files_read_max;
    int64_t want = asked < cap ? asked : cap;
    sq_autofree char *buf = malloc(SQ_FILE_CHUNK_MAX);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!buf || !md) {
        EVP_MD_CTX_free(md);
        sq_err_set(&out->failure, SQ_INTERNAL, "out of memory");
        return;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int64_t done = 0;
    while (done < want) {
        if (stop_check(t, &out->failure) < 0)
            break;
        size_t chunk = (size_t)((want - done) < SQ_FILE_CHUNK_MAX ? (want - done) : SQ_FILE_CHUNK_MAX);
        ssize_t n = pread(fd, buf, chunk, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sq_err_errno(&out->failure, "read /workspace/%s", rel);
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        t->offsets[0] = done; /* offsets of "data" chunks count from the requested offset */
        sq_err e;
        if (sq_task_output(t, 0, buf, (size_t)n, &e) < 0) {
            out->failure = e;
            break;
        }
        done += n;
    }
    char sha[65];
    hex_digest(md, sha);
    EVP_MD_CTX_free(md);
    if (out->failure.code != SQ_OK)
        return;
    /* Truncated: the cap, not the caller's length or the end of the file,
     * ended the read. The size is taken again: the file may have grown. */
    bool truncated = false;
    if (done == cap && asked > cap && fstat(fd, &st) == 0)
        truncated = offset + done < st.st_size;
    out->result = path_result(rel);
    json_object_update_new(out->result, json_pack("{s:I, s:I, s:I, s:s, s:b}", "sizeBytes", (json_int_t)st.st_size,
                                                  "offset", (json_int_t)offset, "length", (json_int_t)done,
                                                  "sha256", sha, "truncated", truncated));
}

static const char *type_name(mode_t m)
{
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

/* ---- listing ----
 *
 * A listing is walked whole (at most LIST_MAX_ENTRIES), sorted by path, and
 * returned a page at a time: at most `limit` entries and LIST_PAGE_BYTES of
 * them as JSON, so the completed event stays far below any Kafka message
 * limit whatever the names (9,999 names of 250 bytes are 6 MB). The cursor
 * is the last path of the page, base64: the next page starts after it in the
 * same order, so pages neither repeat nor skip an entry that stayed put
 * while the client paged, and the worker keeps nothing between requests. */

#define LIST_PAGE_DEFAULT 1000
#define LIST_PAGE_BYTES (512 * 1024)

typedef struct list_entry {
    char *path;      /* relative to /workspace, as the bytes on disk */
    size_t name_off; /* where the name starts in path */
    mode_t mode;
    off_t size;
    int64_t mtime_ms;
} list_entry;

typedef struct list_acc {
    list_entry *v;
    size_t n, cap;
} list_acc;

static void list_acc_free(list_acc *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i].path);
    free(a->v);
}

static int list_push(list_acc *a, const char *prefix, const char *name, const struct stat *st, sq_err *err)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        list_entry *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return sq_err_set(err, SQ_INTERNAL, "out of memory");
        a->v = v;
        a->cap = cap;
    }
    list_entry *e = &a->v[a->n];
    bool top = strcmp(prefix, ".") == 0;
    size_t pl = top ? 0 : strlen(prefix) + 1, nl = strlen(name);
    if (!(e->path = malloc(pl + nl + 1)))
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    if (!top) {
        memcpy(e->path, prefix, pl - 1);
        e->path[pl - 1] = '/';
    }
    memcpy(e->path + pl, name, nl + 1);
    e->name_off = pl;
    e->mode = st->st_mode;
    e->size = st->st_size;
    e->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    a->n++;
    return 0;
}

static int list_dir(sq_task *t, int dfd, const char *prefix, bool recursive, int depth, list_acc *acc,
                    sq_err *err)
{
    int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return sq_err_errno(err, "list /workspace/%s", prefix);
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((rc = stop_check(t, err)) < 0)
            break;
        if (acc->n >= LIST_MAX_ENTRIES) {
            rc = sq_err_set(err, SQ_LIMIT_EXCEEDED, "more than %d entries; list a narrower path", LIST_MAX_ENTRIES);
            break;
        }
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* removed while we listed */
        if ((rc = list_push(acc, prefix, e->d_name, &st, err)) < 0)
            break;
        if (recursive && S_ISDIR(st.st_mode) && depth < LIST_MAX_DEPTH) {
            int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                /* the entry's path, from the array: a realloc may have moved it */
                char *path = strdup(acc->v[acc->n - 1].path);
                rc = path ? list_dir(t, sub, path, true, depth + 1, acc, err) : sq_err_set(err, SQ_INTERNAL, "out of memory");
                free(path);
                close(sub);
            }
        }
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const list_entry *)a)->path, ((const list_entry *)b)->path);
}

static json_t *entry_json(const list_entry *e)
{
    json_t *j = json_object();
    put_bytes(j, "name", "nameB64", e->path + e->name_off);
    put_bytes(j, "path", "pathB64", e->path);
    json_object_update_new(j, json_pack("{s:s, s:I, s:i, s:I}", "type", type_name(e->mode), "sizeBytes",
                                        (json_int_t)e->size, "mode", (int)(e->mode & 07777), "mtime",
                                        (json_int_t)e->mtime_ms));
    return j;
}

/* The first index after the cursor's path (0 without a cursor). */
static int page_start(const list_acc *acc, const json_t *cursor, size_t *start, sq_err *err)
{
    *start = 0;
    if (!cursor)
        return 0;
    size_t n = json_string_length(cursor);
    sq_autofree char *after = malloc(n / 4 * 3 + 4);
    long len = after ? sq_b64_decode(json_string_value(cursor), n, (unsigned char *)after) : -1;
    if (len <= 0 || memchr(after, '\0', (size_t)len))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.cursor", "cursor is not one this worker returned");
    after[len] = '\0';
    size_t lo = 0, hi = acc->n; /* first entry whose path sorts after the cursor's */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(acc->v[mid].path, after) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *start = lo;
    return 0;
}

static void list_body(sq_task *t, sq_task_outcome *out, const char *rel)
{
    const json_t *body = t->req->body;
    /* O_PATH first, to say what the path is if it is not a directory (a FIFO
     * or a file); O_PATH opens nothing, so it cannot block on a FIFO either.
     * The directory is then opened through that very fd. */
    sq_autoclose int pfd = sq_ws_open(t->sb->workspace_fd, rel, O_PATH, 0, &out->failure);
    if (pfd < 0)
        return;
    struct stat st;
    if (fstat(pfd, &st) < 0) {
        sq_err_errno(&out->failure, "stat /workspace/%s", rel);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        sq_err_field(&out->failure, SQ_INVALID_REQUEST, "body.path", "/workspace/%s is %s, not a directory", rel,
                     sq_ws_type_name(st.st_mode));
        return;
    }
    sq_autoclose int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        sq_err_errno(&out->failure, "list /workspace/%s", rel);
        return;
    }
    list_acc acc = {0};
    size_t i = 0;
    if (list_dir(t, dfd, rel, json_is_true(json_object_get(body, "recursive")), 0, &acc, &out->failure) < 0)
        goto out;
    /* Sorted by the bytes of the path: a stable order for the cursor
     * (readdir order is the filesystem's whim). */
    if (acc.n) /* an empty directory has no array: qsort must not see NULL */
        qsort(acc.v, acc.n, sizeof *acc.v, by_path);
    if (page_start(&acc, json_object_get(body, "cursor"), &i, &out->failure) < 0)
        goto out;
    const json_t *lim = json_object_get(body, "limit");
    size_t limit = lim ? (size_t)json_integer_value(lim) : LIST_PAGE_DEFAULT, bytes = 0;
    json_t *entries = json_array();
    for (; i < acc.n && json_array_size(entries) < limit; i++) {
        json_t *e = entry_json(&acc.v[i]);
        if (!e)
            continue;
        size_t sz = json_dumpb(e, NULL, 0, JSON_COMPACT) + 1;
        if (json_array_size(entries) > 0 && bytes + sz > LIST_PAGE_BYTES) {
            json_decref(e);
            break;
        }
        bytes += sz;
        json_array_append_new(entries, e);
    }
    out->result = path_result(rel);
    json_object_set_new(out->result, "entries", entries);
    if (i < acc.n) {
        const char *last = acc.v[i - 1].path;
        size_t ll = strlen(last);
        sq_autofree char *cur = malloc(sq_b64_encoded_size(ll));
        if (!cur) {
            json_decref(out->result);
            out->result = NULL;
            sq_err_set(&out->failure, SQ_INTERNAL, "out of memory");
            goto out;
        }
        sq_b64_encode(last, ll, cur);
        json_object_set_new(out->result, "nextCursor", json_string(cur));
    }
out:
    list_acc_free(&acc);
}

static void remove_body(sq_task *t, sq_task_outcome *out, const char *rel)
{
    sq_ws_stop stop = {.check = stop_check, .user = t};
    if (sq_ws_remove(t->sb->workspace_fd, rel, json_is_true(json_object_get(t->req->body, "recursive")), &stop,
                     &out->failure) < 0)
        return;
    out->result = path_result(rel);
    json_object_set_new(out->result, "removed", json_true());
}

static void files_body(sq_task *t, sq_task_outcome *out)
{
    char rel[4200];
    if (sq_files_request_path(t->req->body, rel, sizeof rel, &out->failure) < 0)
        return;
    switch (t->req->type) {
    case SQ_REQ_FILES_WRITE: write_body(t, out, rel); break;
    case SQ_REQ_FILES_READ: read_body(t, out, rel); break;
    case SQ_REQ_FILES_LIST: list_body(t, out, rel); break;
    case SQ_REQ_FILES_REMOVE: remove_body(t, out, rel); break;
    default: sq_err_set(&out->failure, SQ_INTERNAL, "not a files request"); break;
    }
    if (out->failure.code != SQ_OK)
        msg_as_text(&out->failure);
}

int sq_handle_files(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    /* What PostgreSQL keeps of the task: the path as the request gave it. */
    const json_t *path = json_object_get(req->body, "path"), *b64 = json_object_get(req->body, "pathB64");
    json_t *given = b64 ? json_incref((json_t *)b64) : path ? json_incref((json_t *)path) : json_string(".");
    json_t *summary = json_pack("{s:s, s:o}", "op", req->type_name, b64 ? "pathB64" : "path", given);
    return sq_task_run(w, sb, req, summary, files_body, err);
}
