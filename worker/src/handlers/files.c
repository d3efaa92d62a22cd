/* files.c — files.write, files.read, files.list and files.remove, done on the
 * host side through ws_fs.h (kernel-checked resolution beneath /workspace). */
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
#include "lifecycle/task.h"
#include "handlers/handlers.h"
#include "sq/cleanup.h"
#include "sq/codec.h"
#include "sq/workspace_path.h"

#define LIST_MAX_ENTRIES 10000
#define LIST_MAX_DEPTH 32

static json_t *abs_path(const char *rel)
{
    char buf[4200];
    if (strcmp(rel, ".") == 0)
        snprintf(buf, sizeof buf, "%s", SQ_WORKSPACE_ROOT);
    else
        snprintf(buf, sizeof buf, "%s/%s", SQ_WORKSPACE_ROOT, rel);
    return json_string(buf);
}

static void hex_digest(EVP_MD_CTX *md, char out[65])
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static int write_all_at(int fd, const unsigned char *buf, size_t len, off_t off, bool use_off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = use_off ? pwrite(fd, buf + done, len - done, off + (off_t)done) : write(fd, buf + done, len - done);
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

    if (sq_ws_mkdir_parents(t->sb->workspace_fd, rel, t->sb->host_uid, t->sb->host_gid, &out->failure) < 0)
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
    if (write_all_at(fd, data, len, off ? (off_t)json_integer_value(off) : 0, off != NULL) < 0) {
        if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
            sq_err_set(&out->failure, SQ_LIMIT_EXCEEDED, "the workspace is full");
        else
            sq_err_errno(&out->failure, "write /workspace/%s", rel);
        return;
    }
    fstat(fd, &st);
    char sha[65];
    sq_sha256_hex(data, len, sha);
    out->result = json_pack("{s:o, s:I, s:I, s:s}", "path", abs_path(rel), "sizeBytes", (json_int_t)st.st_size,
                            "written", (json_int_t)len, "sha256", sha);
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
    out->result = json_pack("{s:o, s:I, s:I, s:I, s:s, s:b}", "path", abs_path(rel), "sizeBytes",
                            (json_int_t)st.st_size, "offset", (json_int_t)offset, "length", (json_int_t)done,
                            "sha256", sha, "truncated", truncated);
}

static const char *type_name(mode_t m)
{
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

static int list_dir(int dfd, const char *prefix, bool recursive, int depth, json_t *entries, sq_err *err)
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
        if (json_array_size(entries) >= LIST_MAX_ENTRIES) {
            rc = sq_err_set(err, SQ_LIMIT_EXCEEDED, "more than %d entries; list a narrower path", LIST_MAX_ENTRIES);
            break;
        }
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* removed while we listed */
        char path[4200];
        if (strcmp(prefix, ".") == 0)
            snprintf(path, sizeof path, "%s", e->d_name);
        else
            snprintf(path, sizeof path, "%s/%s", prefix, e->d_name);
        json_array_append_new(entries, json_pack("{s:s, s:s, s:s, s:I, s:i, s:I}", "name", e->d_name, "path", path,
                                                 "type", type_name(st.st_mode), "sizeBytes", (json_int_t)st.st_size,
                                                 "mode", (int)(st.st_mode & 07777), "mtime",
                                                 (json_int_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000));
        if (recursive && S_ISDIR(st.st_mode) && depth < LIST_MAX_DEPTH) {
            int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                rc = list_dir(sub, path, true, depth + 1, entries, err);
                close(sub);
            }
        }
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "path")),
                  json_string_value(json_object_get(*(json_t *const *)b, "path")));
}

static void list_body(sq_task *t, sq_task_outcome *out, const char *rel)
{
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
    json_t *entries = json_array();
    if (list_dir(dfd, rel, json_is_true(json_object_get(t->req->body, "recursive")), 0, entries, &out->failure) < 0) {
        json_decref(entries);
        return;
    }
    /* Sort for a stable listing (readdir order is the filesystem's whim). */
    size_t n = json_array_size(entries);
    json_t **items = malloc(n * sizeof *items + 1);
    for (size_t i = 0; items && i < n; i++)
        items[i] = json_incref(json_array_get(entries, i));
    if (items) {
        qsort(items, n, sizeof *items, by_path);
        json_array_clear(entries);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(entries, items[i]);
        free(items);
    }
    out->result = json_pack("{s:o, s:o}", "path", abs_path(rel), "entries", entries);
}

static void remove_body(sq_task *t, sq_task_outcome *out, const char *rel)
{
    if (sq_ws_remove(t->sb->workspace_fd, rel, json_is_true(json_object_get(t->req->body, "recursive")),
                     &out->failure) == 0)
        out->result = json_pack("{s:o, s:b}", "path", abs_path(rel), "removed", 1);
}

static void files_body(sq_task *t, sq_task_outcome *out)
{
    const json_t *p = json_object_get(t->req->body, "path");
    char rel[4200];
    if (sq_workspace_path(p ? json_string_value(p) : ".", "body.path", rel, sizeof rel, &out->failure) < 0)
        return;
    switch (t->req->type) {
    case SQ_REQ_FILES_WRITE: write_body(t, out, rel); break;
    case SQ_REQ_FILES_READ: read_body(t, out, rel); break;
    case SQ_REQ_FILES_LIST: list_body(t, out, rel); break;
    case SQ_REQ_FILES_REMOVE: remove_body(t, out, rel); break;
    default: sq_err_set(&out->failure, SQ_INTERNAL, "not a files request"); break;
    }
}

int sq_handle_files(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    const json_t *path = json_object_get(req->body, "path");
    json_t *summary = json_pack("{s:s, s:s}", "op", req->type_name, "path", path ? json_string_value(path) : ".");
    return sq_task_run(w, sb, req, summary, files_body, err);
}
