/* export.c — see export.h. */
#include "artifacts/export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/artifact_sql.h"
#include "artifacts/content_type.h"
#include "artifacts/outputs_glob.h"
#include "artifacts/parts.h"
#include "artifacts/store.h"
#include "handlers/ws_fs.h"
#include "lifecycle/control.h"
#include "notify/emit.h"
#include "sq/clock.h"
#include "sq/ids.h"
#include "sq/log.h"
#include "store/writer.h"

/* The walk's bounds: a sandbox can make a tree as deep or as wide as it likes,
 * and the worker's thread must not follow it forever. */
#define WALK_MAX_DEPTH 32
#define WALK_MAX_ENTRIES 100000

/* A kill admitted while we upload (lifecycle/control.c sets kill_pending as
 * it queues the kill) stops the upload. */
static bool kill_requested(void *user)
{
    return sq_control_kill_pending(user);
}

static bool never(void *user)
{
    (void)user;
    return false;
}

void sq_art_batch_init(sq_art_batch *b, sq_worker *w, sq_live_sandbox *sb, const sq_request *req)
{
    memset(b, 0, sizeof *b);
    b->w = w;
    b->sb = sb;
    b->req = req;
    b->artifacts = json_array();
    b->skipped = json_array();
    b->rows = json_array();
}

void sq_art_batch_free(sq_art_batch *b)
{
    json_decref(b->artifacts);
    json_decref(b->skipped);
    json_decref(b->rows);
    memset(b, 0, sizeof *b);
}

static void skip(sq_art_batch *b, const char *rel, sq_code code, const char *msg)
{
    json_array_append_new(b->skipped,
                          json_pack("{s:s, s:s, s:s}", "path", rel, "code", sq_code_name(code), "message", msg));
}

static bool already(const sq_art_batch *b, const char *rel)
{
    size_t i;
    json_t *a;
    json_array_foreach(b->rows, i, a) if (strcmp(json_string_value(json_object_get(a, "path")), rel) == 0) return true;
    return false;
}

static int put_fd(sq_art_batch *b, const char *rel, int fd, const struct stat *st_in, sq_err *err);

int sq_art_batch_add_file(sq_art_batch *b, const char *rel, sq_err *err)
{
    const sq_art_store *st = b->w->artifacts;
    sq_log_ctx lc = {.sandbox_id = b->sb->id, .request_id = b->req ? b->req->request_id : NULL};
    if (already(b, rel))
        return 0;
    /* A name that is not UTF-8 cannot be a JSON string or a PostgreSQL text
     * value: logged, not exported (the event cannot even name it). */
    json_t *probe = json_string(rel);
    if (!probe) {
        sq_warn(&lc, "artifact not exported: its name is not UTF-8");
        return 0;
    }
    json_decref(probe);
    /* Bounded waiting: a store that failed once is not tried for every other
     * file (each could wait for its timeouts), and a kill does not wait for
     * the rest of the uploads. */
    if (b->store_failed) {
        skip(b, rel, SQ_INTERNAL, "not attempted: the artifact store failed for an earlier file of this task");
        return 0;
    }
    if (sq_control_kill_pending(b->sb)) {
        skip(b, rel, SQ_CANCELED, "not exported: the sandbox is being killed");
        return 0;
    }
    if (b->files >= st->max_files) {
        char m[160];
        snprintf(m, sizeof m, "more than SANDQ_ARTIFACT_MAX_FILES (%lld) files for one task",
                 (long long)st->max_files);
        skip(b, rel, SQ_LIMIT_EXCEEDED, m);
        return 0;
    }
    b->files++;
    sq_err why;
    struct stat sbuf;
    /* Confined and non-blocking (ws_fs.h): a link out of /workspace is
     * path_outside_workspace, a FIFO or socket is refused without waiting. */
    int fd = sq_ws_open_regular(b->sb->workspace_fd, rel, O_RDONLY, 0, &sbuf, &why);
    if (fd < 0) {
        skip(b, rel, why.code, why.msg);
        return 0;
    }
    return put_fd(b, rel, fd, &sbuf, err);
}

/* Upload an open regular file as the artifact `rel`; closes fd. */
static int put_fd(sq_art_batch *b, const char *rel, int fd, const struct stat *st_in, sq_err *err)
{
    const sq_art_store *st = b->w->artifacts;
    sq_log_ctx lc = {.sandbox_id = b->sb->id, .request_id = b->req ? b->req->request_id : NULL};
    sq_err why;
    struct stat sbuf = *st_in;
    if (sbuf.st_size > st->max_file_bytes) {
        char m[200];
        snprintf(m, sizeof m, "/workspace/%s is %lld bytes, over SANDQ_ARTIFACT_MAX_BYTES (%lld)", rel,
                 (long long)sbuf.st_size, (long long)st->max_file_bytes);
        skip(b, rel, SQ_LIMIT_EXCEEDED, m);
        close(fd);
        return 0;
    }
    char art_id[SQ_ID_MAX], key[SQ_ART_KEY_MAX], sha[65], url[SQ_ART_URL_MAX];
    sq_id_new("art", art_id);
    const char *ctype = sq_content_type_of(rel);
    if (sq_art_key(b->sb->tenant, b->sb->artifact_prefix, b->sb->id, art_id, rel, key, &why) < 0) {
        skip(b, rel, why.code, why.msg);
        close(fd);
        return 0;
    }
    int64_t t0 = sq_mono_ms();
    sq_art_stop stop = {.fn = b->despite_kill ? never : kill_requested, .user = b->sb};
    int rc = sq_art_store_put(st, key, fd, (uint64_t)sbuf.st_size, ctype, &stop, sha, &why);
    close(fd);
    if (rc < 0 && why.code == SQ_CANCELED) {
        sq_info(&lc, "artifact %s: %s", rel, why.msg);
        skip(b, rel, SQ_CANCELED, why.msg);
        return 0;
    }
    if (rc < 0 || sq_art_store_url(st, art_id, key, sq_now_ms() / 1000, url, &why) < 0) {
        sq_error(&lc, "artifact %s: %s", rel, why.msg);
        skip(b, rel, SQ_INTERNAL, why.msg);
        b->store_failed = true;
        *err = why;
        return -1;
    }
    sq_info(&lc, "artifact %s: %s (%lld bytes) in %lld ms", art_id, rel, (long long)sbuf.st_size,
            (long long)(sq_mono_ms() - t0));
    json_t *a = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "artifactId", art_id, "path", rel, "sizeBytes",
                          (json_int_t)sbuf.st_size, "sha256", sha, "contentType", ctype, "url", url);
    json_array_append(b->artifacts, a);
    json_t *row = json_deep_copy(a);
    json_object_set_new(row, "storageKey", json_string(key));
    json_array_append_new(b->rows, row);
    json_decref(a);
    return 0;
}

int sq_art_batch_add_fd(sq_art_batch *b, const char *name, int fd, sq_err *err)
{
    struct stat sbuf;
    if (already(b, name)) {
        close(fd);
        return 0;
    }
    bool killed = !b->despite_kill && sq_control_kill_pending(b->sb);
    if (b->store_failed || killed || fstat(fd, &sbuf) < 0 || b->files >= b->w->artifacts->max_files) {
        skip(b, name, b->store_failed ? SQ_INTERNAL : killed ? SQ_CANCELED : SQ_LIMIT_EXCEEDED,
             "not exported: the store failed, the sandbox is being killed, or the task's file limit was reached");
        close(fd);
        return 0;
    }
    b->files++;
    return put_fd(b, name, fd, &sbuf, err);
}

int sq_art_outputs_check(const json_t *patterns, sq_err *why)
{
    size_t i;
    const json_t *p;
    json_array_foreach(patterns, i, p)
    {
        if (!sq_glob_normalize(json_string_value(p), why))
            return -1;
    }
    return 0;
}

typedef struct walk {
    sq_art_batch *b;
    const char *pats[64];
    int npats;
    long entries;
} walk;

static bool any_match(const walk *wk, const char *rel)
{
    for (int i = 0; i < wk->npats; i++)
        if (sq_glob_match(wk->pats[i], rel))
            return true;
    return false;
}

static bool any_dir(const walk *wk, const char *rel)
{
    for (int i = 0; i < wk->npats; i++)
        if (sq_glob_dir_may_match(wk->pats[i], rel))
            return true;
    return false;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir_fd is a real directory fd (not O_PATH) of /workspace/<rel>. Entries are
 * visited in name order so the artifacts' order does not depend on the file
 * system's. */
static void walk_dir(walk *wk, int dir_fd, const char *rel, int depth)
{
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        close(dir_fd);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) && wk->entries < WALK_MAX_ENTRIES) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        wk->entries++;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    if (n > 1)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char child[4200];
        if (!names[i] || snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", names[i]) >= (int)sizeof child)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth + 1 < WALK_MAX_DEPTH && any_dir(wk, child)) {
                /* O_NOFOLLOW: a directory swapped for a symlink since the
                 * stat fails here instead of leading out. */
                int sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                if (sub >= 0)
                    walk_dir(wk, sub, child, depth + 1);
            }
        } else if (any_match(wk, child)) {
            /* Symlinks, FIFOs and the like are handed on too: the confined
             * open says what becomes of them (a link inside /workspace is
             * exported, one out of it or a FIFO is listed as skipped). */
            sq_err ignore;
            (void)sq_art_batch_add_file(wk->b, child, &ignore);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
}

void sq_art_batch_add_globs(sq_art_batch *b, const json_t *patterns)
{
    walk wk = {.b = b};
    size_t i;
    const json_t *p;
    json_array_foreach(patterns, i, p)
    {
        sq_err why;
        const char *np = sq_glob_normalize(json_string_value(p), &why);
        if (np && wk.npats < 64)
            wk.pats[wk.npats++] = np;
    }
    if (wk.npats == 0)
        return;
    int root = openat(b->sb->workspace_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root >= 0)
        walk_dir(&wk, root, "", 0);
}

/* The export's sandbox.artifacts.updated: one event, or several when the list
 * would make it larger than SANDQ_MAX_EVENT_BYTES (artifacts/parts.h), each
 * then with `part` (1-based) and `parts`, every artifact and skipped file in
 * exactly one of them, in order. */
static int publish_parts(sq_art_batch *b, const char *task_id, sq_err *err)
{
    static const char type[] = "sandbox.artifacts.updated";
    sq_emit_target target = sq_target_of(b->sb);
    size_t na = json_array_size(b->artifacts), ns = json_array_size(b->skipped), n = na + ns;
    size_t *bytes = calloc(n ? n : 1, sizeof *bytes), *part_of = calloc(n ? n : 1, sizeof *part_of);
    if (!bytes || !part_of) {
        free(bytes);
        free(part_of);
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *it = i < na ? json_array_get(b->artifacts, i) : json_array_get(b->skipped, i - na);
        bytes[i] = json_dumpb(it, NULL, 0, JSON_COMPACT);
    }
    size_t envelope = sq_emit_envelope_bytes(b->w, &target, b->req, task_id, type) + SQ_ART_PART_FIXED_BYTES;
    size_t budget = b->w->cfg.max_event_bytes > envelope ? b->w->cfg.max_event_bytes - envelope : 0;
    size_t parts = sq_art_parts_plan(bytes, n, budget, part_of);
    b->parts = (int)parts;
    int rc = 0;
    size_t i = 0;
    for (size_t p = 0; p < parts && rc == 0; p++) {
        json_t *arts = json_array(), *skipped = json_array();
        for (; i < n && part_of[i] == p; i++) {
            if (i < na)
                json_array_append(arts, json_array_get(b->artifacts, i));
            else
                json_array_append(skipped, json_array_get(b->skipped, i - na));
        }
        json_t *d = json_pack("{s:o}", "artifacts", arts);
        if (json_array_size(skipped))
            json_object_set(d, "skipped", skipped);
        json_decref(skipped);
        if (parts > 1) {
            json_object_set_new(d, "part", json_integer((json_int_t)p + 1));
            json_object_set_new(d, "parts", json_integer((json_int_t)parts));
        }
        rc = sq_emit(b->w, &target, b->req, task_id, type, d, err);
    }
    free(bytes);
    free(part_of);
    return rc;
}

int sq_art_batch_publish(sq_art_batch *b, sq_err *err)
{
    const char *task_id = b->req && b->req->task_id[0] ? b->req->task_id : NULL;
    size_t i;
    json_t *r;
    json_array_foreach(b->rows, i, r)
    {
        char size[32];
        snprintf(size, sizeof size, "%lld", (long long)json_integer_value(json_object_get(r, "sizeBytes")));
        const char *p[] = {json_string_value(json_object_get(r, "artifactId")),
                           b->sb->id,
                           task_id,
                           json_string_value(json_object_get(r, "path")),
                           size,
                           json_string_value(json_object_get(r, "sha256")),
                           json_string_value(json_object_get(r, "contentType")),
                           json_string_value(json_object_get(r, "storageKey")),
                           b->sb->tenant,
                           b->w->artifacts->url};
        _Static_assert(sizeof p / sizeof *p == SQ_SQL_ARTIFACT_INSERT_PARAMS, "parameters of SQ_SQL_ARTIFACT_INSERT");
        sq_writer_exec(b->w->writer, SQ_SQL_ARTIFACT_INSERT, SQ_SQL_ARTIFACT_INSERT_PARAMS, p);
    }
    return publish_parts(b, task_id, err);
}
