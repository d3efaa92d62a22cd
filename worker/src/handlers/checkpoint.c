/* checkpoint.c — checkpoint.create, checkpoint.restore and checkpoints.list
 * (issue 13, docs/checkpoints.md).
 *
 * A checkpoint is the workspace (the browser profile included): CRIU does not
 * work on this kernel, so no process memory is kept, and a restore starts the
 * sandbox's services (its browser) afresh.
 *
 * The archive is made by `tar --zstd` running *inside* the sandbox, through
 * the runtime like any command: it reads the workspace with the sandbox's own
 * rights and namespaces, so owners are stored as the sandbox sees them (uid 0
 * …) and come back right on a worker whose uid slot is another range, and the
 * worker never walks sandbox-controlled directories itself. The worker only
 * spools tar's stdout (bounded: SANDQ_CHECKPOINT_MAX_BYTES) into an unnamed
 * temporary file on the host and puts that into the artifact store. The
 * command runs under the control lane, so a kill or a cancel stops tar (and
 * the upload, between chunks) at once; the task then fails `canceled`.
 * Meanwhile the sandbox's other processes are frozen (cgroup freezer on their
 * task cgroups — not on the sandbox's, which would freeze tar too).
 *
 * A restore downloads the archive to the same kind of temporary file and
 * streams it into `tar -x` in the sandbox (sq_exec_opts.stdin_from_fd), after
 * the workspace's entries are removed. Rows live in PostgreSQL (sql/006, 014);
 * they are written and read synchronously here, on the actor, so that
 * retention and a restore right after a create see them. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/ckpt_rules.h"
#include "artifacts/store.h"
#include "handlers/browser.h"
#include "handlers/checkpoint.h"
#include "handlers/handlers.h"
#include "lifecycle/control.h"
#include "lifecycle/lifetime.h"
#include "lifecycle/task.h"
#include "notify/emit.h"
#include "sq/clock.h"
#include "sq/ids.h"
#include "sq/log.h"
#include "store/pool.h"
#include "store/redis_store.h"
#include "store/pg_now.h"

#define STDERR_KEEP 2048

#define SQL_CKPT_INSERT                                                                                         \
    "INSERT INTO checkpoints (id, sandbox_id, label, size_bytes, storage_key, tenant, store_url, task_id, "     \
    "sha256, duration_ms, auto) VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8, $9, $10::bigint, $11::boolean) " \
    "ON CONFLICT (id) DO NOTHING"
/* Retention: which rows go is sq_ckpt_retention_pick's (manual and automatic
 * ones counted apart); the rows go first, their objects after them. Only this
 * sandbox's actor writes its checkpoints, so nothing changes in between. */
#define SQL_CKPT_ALL "SELECT id, auto FROM checkpoints WHERE sandbox_id = $1 ORDER BY created_at DESC, id DESC"
#define SQL_CKPT_EXPIRE                                                                                         \
    "DELETE FROM checkpoints WHERE sandbox_id = $1 AND id = ANY($2::text[]) RETURNING id, storage_key, store_url"
/* The latest automatic checkpoint's archive hash: an unchanged workspace is not stored again. */
#define SQL_CKPT_LAST_AUTO                                                                                      \
    "SELECT sha256 FROM checkpoints WHERE sandbox_id = $1 AND auto ORDER BY created_at DESC, id DESC LIMIT 1"
#define SQL_CKPT_GET                                                                                            \
    "SELECT storage_key, store_url, size_bytes, label FROM checkpoints WHERE id = $1 AND sandbox_id = $2"
#define SQL_CKPT_EXISTS "SELECT 1 FROM checkpoints WHERE id = $1"
#define SQL_CKPT_LIST                                                                                           \
    "SELECT id, label, size_bytes, sha256, duration_ms, (extract(epoch FROM created_at) * 1000)::bigint, auto " \
    "FROM checkpoints WHERE sandbox_id = $1 ORDER BY created_at DESC, id DESC"

/* ---- PostgreSQL, synchronous on a pool connection ---------------------- */

static int pg_run(sq_worker *w, const char *sql, int n, const char *const *p, PGresult **out, sq_err *err)
{
    return sq_pg_now(w, "checkpoints", sql, n, p, out, err);
}

/* ---- spooling tar's output ---------------------------------------------- */

typedef struct spool {
    sq_task *t;
    int fd;
    uint64_t bytes, max;
    bool over, write_failed;
    bool automatic; /* an automatic checkpoint: no task of its own (sq_checkpoint_auto_tick below) */
    char err_text[STDERR_KEEP];
    size_t err_len;
} spool;

static void on_tar_output(void *user, int stream, const char *data, size_t len)
{
    spool *s = user;
    if (stream == 2) {
        size_t room = sizeof s->err_text - 1 - s->err_len;
        size_t c = len < room ? len : room;
        memcpy(s->err_text + s->err_len, data, c);
        s->err_len += c;
        s->err_text[s->err_len] = '\0';
        return;
    }
    if (s->fd < 0 || s->over || s->write_failed) /* a restore: tar -x says nothing worth keeping on stdout */
        return;
    if (s->bytes + len > s->max) {
        s->over = true; /* stopped at the next control check (on_control) */
        return;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(s->fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->write_failed = true;
            return;
        }
        off += (size_t)n;
    }
    s->bytes += len;
}

/* The control lane, and our own stop: an archive over its cap or a spool
 * that cannot be written ends tar. Asked every 200 ms besides wake-ups. */
static bool on_control(void *user, int64_t *control_at)
{
    spool *s = user;
    int64_t next = sq_mono_ms() + 200;
    bool stop;
    if (s->automatic) {
        /* No task of its own, so not sq_control_on_exec (whose onTimeout
         * "pause" would freeze the sandbox under a task and make it active
         * on resume): a kill stops it (a task.cancel cannot name it: it is
         * no task), a take-over does, a worker stopping does, and so does the
         * sandbox's lifetime running out — the actor then ends or pauses it
         * as for an idle sandbox. It answers queued cancels and the
         * hand-off/preview requests meanwhile, as under a task. */
        stop = sq_control_stop_task(s->t->w, s->t->sb) || atomic_load(&s->t->w->stopping) ||
               sq_lifetime_check(&s->t->sb->lifetime, sq_now_ms()) != SQ_LIFETIME_OK;
        *control_at = next;
        return stop || s->over || s->write_failed;
    }
    stop = sq_control_on_exec(s->t, control_at);
    if (!*control_at || *control_at > next)
        *control_at = next;
    return stop || s->over || s->write_failed;
}

static bool kill_requested(void *user)
{
    return sq_control_kill_pending(user);
}

/* An automatic checkpoint's upload also stops for a worker shutting down
 * (nobody waits for it) and a sandbox another worker took. */
static bool auto_stop_requested(void *user)
{
    sq_live_sandbox *sb = user;
    return sq_control_kill_pending(sb) || sb->fenced || atomic_load(&sb->worker->stopping);
}

/* Run argv in the sandbox with the control lane; stdin from in_fd (size
 * in_len) when in_fd >= 0; stdout spooled into s->fd. */
static void run_tar(sq_task *t, const char *const *argv, int in_fd, uint64_t in_len, spool *s, sq_task_outcome *out)
{
    static const char *const envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                       "LANG=C.UTF-8", "HOME=/workspace", NULL};
    sq_exec_opts o = {
        .argv = argv,
        .envp = envp,
        .cwd = "/workspace",
        .stdin_from_fd = in_fd >= 0,
        .stdin_fd = in_fd,
        .stdin_len = in_fd >= 0 ? in_len : 0,
        .timeout_ms = t->w->artifacts->ckpt_timeout_ms,
        .on_output = on_tar_output,
        .user = s,
        .on_control = on_control,
        .wake_fd = t->sb->wake_fd,
        .control_at = sq_mono_ms() + 200,
    };
    sq_exec_result res;
    if (sq_sandbox_exec(t->sb->runtime, &o, &res, &out->failure) < 0) {
        out->failure.code = SQ_INTERNAL;
        return;
    }
    if (s->over)
        sq_err_set(&out->failure, SQ_LIMIT_EXCEEDED,
                   "the workspace archive is larger than SANDQ_CHECKPOINT_MAX_BYTES (%llu bytes)",
                   (unsigned long long)s->max);
    else if (s->write_failed)
        sq_err_set(&out->failure, SQ_INTERNAL, "spooling the archive on the worker failed");
    else if (res.canceled)
        sq_err_set(&out->failure, sq_control_stop_code(t->sb), "%s", sq_control_why_stopped(t->sb, t->req->task_id));
    else if (res.timed_out)
        sq_err_set(&out->failure, SQ_TIMED_OUT, "tar ran longer than SANDQ_CHECKPOINT_TIMEOUT_MS (%lld ms)",
                   (long long)t->w->artifacts->ckpt_timeout_ms);
    else if (res.oom_killed)
        sq_err_set(&out->failure, SQ_LIMIT_EXCEEDED, "tar was OOM-killed at the sandbox's memory limit");
    /* GNU tar: 1 = a file changed while it was read (the archive is still
     * valid; a process of the sandbox wrote meanwhile); 2 = fatal. */
    else if (res.exit_code != 0 && res.exit_code != 1)
        sq_err_set(&out->failure, SQ_INTERNAL, "tar exited %d: %.400s", res.exit_code, s->err_text);
}

/* run_tar with the sandbox's background processes frozen (the cgroup
 * freezer on their task cgroups; sq_sandbox_freeze_background): nothing of
 * the sandbox but tar touches the workspace meanwhile. Thawed whatever tar
 * did, before a kill that stopped it runs. */
static void run_tar_frozen(sq_task *t, const char *const *argv, int in_fd, uint64_t in_len, spool *s,
                           sq_task_outcome *out)
{
    sq_err why;
    if (sq_sandbox_freeze_background(t->sb->runtime, true, &why) < 0) {
        sq_err_set(&out->failure, SQ_INTERNAL, "freezing the sandbox's processes failed: %s", why.msg);
        return;
    }
    run_tar(t, argv, in_fd, in_len, s, out);
    if (sq_sandbox_freeze_background(t->sb->runtime, false, &why) < 0)
        sq_warn(NULL, "%s: thawing after a checkpoint: %s", t->sb->id, why.msg);
}

static int spool_file(sq_worker *w, sq_err *err)
{
    int fd = open(w->artifacts->ckpt_tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return sq_err_errno(err, "checkpoints: temporary file in %s", w->artifacts->ckpt_tmp);
    return fd;
}

static int ckpt_key(const sq_live_sandbox *sb, const char *checkpoint_id, char key[SQ_ART_KEY_MAX], sq_err *err)
{
    char leaf[64];
    snprintf(leaf, sizeof leaf, "%s.tar.zst", checkpoint_id);
    return sq_art_key(sb->tenant, sb->artifact_prefix, sb->id, "checkpoints", leaf, key, err);
}

/* Remove the checkpoints past the newest SANDQ_CHECKPOINT_KEEP manual and
 * SANDQ_CHECKPOINT_AUTO_KEEP automatic ones: rows first, then their objects
 * (an object left behind by a crash in between is only space; a row without
 * its object would be a restore that fails). */
static json_t *expire(sq_worker *w, sq_live_sandbox *sb)
{
    json_t *gone = json_array();
    const char *p[] = {sb->id, NULL};
    PGresult *r = NULL;
    sq_err why;
    sq_log_ctx lc = {.sandbox_id = sb->id};
    if (pg_run(w, SQL_CKPT_ALL, 1, p, &r, &why) < 0) {
        sq_warn(&lc, "checkpoint retention skipped: %s", why.msg);
        return gone;
    }
    size_t n = (size_t)PQntuples(r);
    bool *is_auto = calloc(n + 1, sizeof *is_auto), *drop = calloc(n + 1, sizeof *drop);
    char *ids = NULL;
    size_t ids_len = 0;
    FILE *f = open_memstream(&ids, &ids_len);
    if (!is_auto || !drop || !f) {
        sq_warn(&lc, "checkpoint retention skipped: out of memory");
        PQclear(r);
        free(is_auto);
        free(drop);
        if (f)
            fclose(f);
        free(ids);
        return gone;
    }
    for (size_t i = 0; i < n; i++)
        is_auto[i] = strcmp(PQgetvalue(r, (int)i, 1), "t") == 0;
    size_t dropped = sq_ckpt_retention_pick(is_auto, n, w->artifacts->ckpt_keep, w->artifacts->ckpt_auto_keep, drop);
    /* A text[] literal; ids are chk_<ULID> (sql/006's CHECK): nothing to quote. */
    fputc('{', f);
    for (size_t i = 0, k = 0; i < n; i++)
        if (drop[i])
            fprintf(f, "%s%s", k++ ? "," : "", PQgetvalue(r, (int)i, 0));
    fputc('}', f);
    fclose(f);
    PQclear(r);
    free(is_auto);
    free(drop);
    if (dropped == 0) {
        free(ids);
        return gone;
    }
    p[1] = ids;
    int rc = pg_run(w, SQL_CKPT_EXPIRE, 2, p, &r, &why);
    free(ids);
    if (rc < 0) {
        sq_warn(&lc, "checkpoint retention skipped: %s", why.msg);
        return gone;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0), *key = PQgetvalue(r, i, 1), *store = PQgetvalue(r, i, 2);
        json_array_append_new(gone, json_string(id));
        if (strcmp(store, w->artifacts->url) != 0) {
            sq_warn(&lc, "checkpoint %s expired; its object stays in %s (not this worker's store)", id, store);
            continue;
        }
        if (sq_art_store_delete(w->artifacts, key, &why) < 0)
            sq_warn(&lc, "checkpoint %s expired; removing its object failed: %s", id, why.msg);
    }
    PQclear(r);
    return gone;
}

/* sha256 of the spooled archive (the worker's own file), for telling an
 * unchanged workspace. */
static int spool_sha256(int fd, uint64_t size, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    enum { CHUNK = 64 << 10 };
    char *buf = malloc(CHUNK); /* not on an actor's stack, which is small */
    if (!buf) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    uint64_t off = 0;
    while (off < size) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            EVP_MD_CTX_free(md);
            return -1;
        }
        EVP_DigestUpdate(md, buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* Whether the archive is byte for byte the sandbox's latest automatic
 * checkpoint's (tar and zstd give the same bytes for the same workspace). */
static bool same_as_last_auto(sq_worker *w, sq_live_sandbox *sb, int fd, uint64_t size)
{
    char sha[65];
    if (spool_sha256(fd, size, sha) < 0)
        return false;
    const char *p[] = {sb->id};
    PGresult *r = NULL;
    sq_err why;
    if (pg_run(w, SQL_CKPT_LAST_AUTO, 1, p, &r, &why) < 0)
        return false;
    bool same = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), sha) == 0;
    PQclear(r);
    return same;
}

/* ---- checkpoint.create, and the automatic ones -------------------------- */

/* Make checkpoint `id` of the workspace: browser closed, the others frozen,
 * tar, store, row, retention, sandbox.checkpoint.created. For an automatic
 * one (automatic: t->req is the worker's own, without a request or task id),
 * an archive identical to the latest automatic one is not stored
 * (*skipped). reopen_browser false: a browser closed for the snapshot stays
 * closed (the sandbox is going away: a persist). out->result gets the
 * event's data. */
static void make_checkpoint(sq_task *t, const char *id, const char *label, bool automatic, bool reopen_browser,
                            bool *skipped, sq_task_outcome *out)
{
    sq_worker *w = t->w;
    sq_live_sandbox *sb = t->sb;
    int64_t start = sq_mono_ms();
    sq_err err;
    char key[SQ_ART_KEY_MAX];
    if (ckpt_key(sb, id, key, &out->failure) < 0)
        return;
    PGresult *r = NULL;
    if (!automatic) {
        /* An id is one checkpoint for good: reusing one (this sandbox's or
         * another's, even one retention removed is not told apart) would
         * overwrite or orphan an archive its row does not describe. (An
         * automatic one's id is new: sq_id_new.) */
        const char *pe[] = {id};
        if (pg_run(w, SQL_CKPT_EXISTS, 1, pe, &r, &out->failure) < 0)
            return;
        bool used = PQntuples(r) > 0;
        PQclear(r);
        if (used) {
            sq_err_field(&out->failure, SQ_INVALID_REQUEST, "body.checkpointId",
                         "checkpoint %s already exists: each checkpoint.create needs a new checkpointId", id);
            return;
        }
    }
    int fd = spool_file(w, &out->failure);
    if (fd < 0)
        return;
    /* The browser writes its profile as it runs: closed cleanly first, so
     * the archive holds what it flushed, and started again after. */
    bool browser = sq_browser_close_for_checkpoint(sb);
    static const char *const argv[] = {"tar", "--zstd", "--sparse", "--numeric-owner", "--xattrs", "-cf", "-", "-C",
                                       "/workspace", ".", NULL};
    spool s = {.t = t, .fd = fd, .max = (uint64_t)w->artifacts->ckpt_max_bytes, .automatic = automatic};
    run_tar_frozen(t, argv, -1, 0, &s, out);
    int64_t tar_done = sq_mono_ms();
    if (browser && reopen_browser && !sq_control_kill_pending(sb) && sq_browser_reopen(w, sb, t->req, &err) < 0)
        sq_warn(NULL, "%s: browser event after a checkpoint: %s", sb->id, err.msg);
    if (automatic && out->failure.code == SQ_OK && same_as_last_auto(w, sb, fd, s.bytes)) {
        close(fd);
        *skipped = true;
        return;
    }
    char sha[65] = "";
    if (out->failure.code == SQ_OK && automatic && (sb->fenced || atomic_load(&w->stopping)))
        sq_err_set(&out->failure, SQ_CANCELED, "the sandbox was taken over, or the worker is stopping");
    if (out->failure.code == SQ_OK) {
        sq_art_stop stop = {.fn = automatic ? auto_stop_requested : kill_requested, .user = sb};
        if (sq_art_store_put(w->artifacts, key, fd, s.bytes, "application/zstd", &stop, sha, &out->failure) < 0 &&
            out->failure.code != SQ_CANCELED)
            sq_err_wrap(&out->failure, "storing the checkpoint");
    }
    close(fd);
    if (out->failure.code != SQ_OK)
        return;
    int64_t stored = sq_mono_ms();
    int64_t duration = stored - start;
    char size_s[24], dur_s[24];
    snprintf(size_s, sizeof size_s, "%llu", (unsigned long long)s.bytes);
    snprintf(dur_s, sizeof dur_s, "%lld", (long long)duration);
    const char *p[] = {id,  sb->id, label, size_s, key, sb->tenant, w->artifacts->url, t->req->task_id[0] ? t->req->task_id : NULL,
                       sha, dur_s,  automatic ? "true" : "false"};
    if (pg_run(w, SQL_CKPT_INSERT, 11, p, &r, &out->failure) < 0) {
        /* No row, no checkpoint: the object would be one no restore finds. */
        sq_err why;
        if (sq_art_store_delete(w->artifacts, key, &why) < 0)
            sq_warn(&(sq_log_ctx){.sandbox_id = sb->id}, "checkpoint %s: removing its object failed: %s", id,
                    why.msg);
        return;
    }
    PQclear(r);
    json_t *expired = expire(w, sb);
    json_t *d = json_pack("{s:s, s:s?, s:I, s:I, s:s, s:s, s:O, s:b}", "checkpointId", id, "label", label,
                          "sizeBytes", (json_int_t)s.bytes, "durationMs", (json_int_t)duration, "sha256", sha,
                          "storeUrl", w->artifacts->url, "expired", expired, "auto", automatic);
    sq_emit_target target = sq_target_of(sb);
    if (sq_emit(w, &target, automatic ? NULL : t->req, t->req->task_id[0] ? t->req->task_id : NULL,
                "sandbox.checkpoint.created", json_deep_copy(d), &err) < 0)
        sq_err_set(&out->failure, SQ_INTERNAL, "%s", err.msg);
    json_decref(expired);
    out->result = d;
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = t->req->request_id};
    sq_info(&lc, "%scheckpoint %s: %llu bytes in %lld ms (tar %lld ms, store %lld ms)", automatic ? "automatic " : "",
            id, (unsigned long long)s.bytes, (long long)duration, (long long)(tar_done - start),
            (long long)(stored - tar_done));
}

void sq_checkpoint_take(sq_task *t, const char *id, const char *label, bool reopen_browser, sq_task_outcome *out)
{
    bool skipped = false;
    make_checkpoint(t, id, label, false, reopen_browser, &skipped, out);
}

static void create_body(sq_task *t, sq_task_outcome *out)
{
    sq_checkpoint_take(t, json_string_value(json_object_get(t->req->body, "checkpointId")),
                       json_string_value(json_object_get(t->req->body, "label")), true, out);
}

/* ---- checkpoint.restore ------------------------------------------------- */

void sq_checkpoint_restore_into(sq_task *t, const char *id, sq_task_outcome *out)
{
    sq_worker *w = t->w;
    sq_live_sandbox *sb = t->sb;
    int64_t start = sq_mono_ms();
    sq_err err;
    const char *p[] = {id, sb->id};
    PGresult *r = NULL;
    if (pg_run(w, SQL_CKPT_GET, 2, p, &r, &out->failure) < 0)
        return;
    if (PQntuples(r) != 1) {
        PQclear(r);
        sq_err_field(&out->failure, SQ_CHECKPOINT_NOT_FOUND, "body.checkpointId",
                     "this sandbox has no checkpoint %s (never made, or removed by retention)", id);
        return;
    }
    char key[SQ_ART_KEY_MAX], store[1100], label[300];
    snprintf(key, sizeof key, "%s", PQgetvalue(r, 0, 0));
    snprintf(store, sizeof store, "%s", PQgetvalue(r, 0, 1));
    snprintf(label, sizeof label, "%s", PQgetvalue(r, 0, 3));
    bool has_label = !PQgetisnull(r, 0, 3);
    PQclear(r);
    if (strcmp(store, w->artifacts->url) != 0) {
        sq_err_set(&out->failure, SQ_INTERNAL, "checkpoint %s is kept in %s, not in this worker's store %s", id,
                   store, w->artifacts->url);
        return;
    }
    int fd = spool_file(w, &out->failure);
    if (fd < 0)
        return;
    uint64_t size = 0;
    sq_art_stop stop = {.fn = kill_requested, .user = sb};
    if (sq_art_store_get(w->artifacts, key, fd, (uint64_t)w->artifacts->ckpt_max_bytes, &stop, &size,
                         &out->failure) < 0) {
        if (out->failure.code == SQ_NOT_FOUND)
            out->failure.code = SQ_CHECKPOINT_NOT_FOUND;
        sq_err_wrap(&out->failure, "fetching checkpoint %s", id);
        close(fd);
        return;
    }
    int64_t fetched = sq_mono_ms();
    bool browser = sq_browser_close_for_checkpoint(sb);
    /* The workspace's entries go (the mount point itself stays), then the
     * archive is unpacked as the sandbox's root. A sandbox has no CAP_CHOWN,
     * so every file in it belongs to its root (uid 0 inside) and tar must not
     * try to chown (--no-same-owner): the files come back owned by this
     * sandbox's root, whichever host uid range its slot maps that to. */
    static const char *const argv[] = {
        "sh", "-c",
        "find /workspace -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + && "
        "exec tar --zstd -xf - --no-same-owner --xattrs --same-permissions -C /workspace",
        NULL};
    spool s = {.t = t, .fd = -1, .max = 1 << 20};
    run_tar_frozen(t, argv, fd, size, &s, out);
    close(fd);
    if (browser && !sq_control_kill_pending(sb) && sq_browser_reopen(w, sb, t->req, &err) < 0)
        sq_warn(NULL, "%s: browser event after a restore: %s", sb->id, err.msg);
    if (out->failure.code != SQ_OK) {
        sq_err_wrap(&out->failure, "restoring checkpoint %s (the workspace may be partly restored)", id);
        return;
    }
    int64_t duration = sq_mono_ms() - start;
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = t->req->request_id};
    sq_info(&lc, "restore %s: %llu bytes in %lld ms (fetch %lld ms, tar %lld ms)", id, (unsigned long long)size,
            (long long)duration, (long long)(fetched - start), (long long)(sq_mono_ms() - fetched));
    json_t *d = json_pack("{s:s, s:s?, s:I, s:I, s:s}", "checkpointId", id, "label", has_label ? label : NULL,
                          "sizeBytes", (json_int_t)size, "durationMs", (json_int_t)duration, "storeUrl",
                          w->artifacts->url);
    sq_emit_target target = sq_target_of(sb);
    if (sq_emit(w, &target, t->req, t->req->task_id[0] ? t->req->task_id : NULL, "sandbox.checkpoint.restored", json_deep_copy(d), &err) < 0)
        sq_err_set(&out->failure, SQ_INTERNAL, "%s", err.msg);
    out->result = d;
}

static void restore_body(sq_task *t, sq_task_outcome *out)
{
    sq_checkpoint_restore_into(t, json_string_value(json_object_get(t->req->body, "checkpointId")), out);
}

/* ---- checkpoints.list --------------------------------------------------- */

static void list_body(sq_task *t, sq_task_outcome *out)
{
    const char *p[] = {t->sb->id};
    PGresult *r = NULL;
    if (pg_run(t->w, SQL_CKPT_LIST, 1, p, &r, &out->failure) < 0)
        return;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            list, json_pack("{s:s, s:s?, s:I, s:s, s:I, s:I, s:b}", "checkpointId", PQgetvalue(r, i, 0), "label",
                            PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1), "sizeBytes",
                            (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10), "sha256", PQgetvalue(r, i, 3),
                            "durationMs", (json_int_t)strtoll(PQgetvalue(r, i, 4), NULL, 10), "createdAt",
                            (json_int_t)strtoll(PQgetvalue(r, i, 5), NULL, 10), "auto",
                            strcmp(PQgetvalue(r, i, 6), "t") == 0));
    PQclear(r);
    out->result = json_pack("{s:o, s:I, s:I}", "checkpoints", list, "keep", (json_int_t)t->w->artifacts->ckpt_keep,
                            "keepAuto", (json_int_t)t->w->artifacts->ckpt_auto_keep);
}

/* ---- automatic checkpoints (checkpoint {auto: true, intervalMs}) ------- */

void sq_checkpoint_auto_tick(sq_worker *w, sq_live_sandbox *sb, int *wait_ms)
{
    int64_t now = sq_mono_ms();
    if (!sq_ckpt_auto_is_due(sb->ckpt_auto_ms, sb->state, sq_control_kill_pending(sb), now, sb->ckpt_auto_due)) {
        *wait_ms = sq_ckpt_auto_wait(sb->ckpt_auto_ms, now, sb->ckpt_auto_due, *wait_ms);
        return;
    }
    /* The worker's own request: no request or task id (its events carry
     * none), the sandbox's tenant. The sandbox stays `ready` throughout —
     * no task, no sandbox.active — and its idle clock is not touched: an
     * automatic checkpoint is not activity. */
    sq_request req;
    memset(&req, 0, sizeof req);
    req.v = 1;
    req.type = SQ_REQ_CHECKPOINT_CREATE;
    snprintf(req.type_name, sizeof req.type_name, "checkpoint.auto");
    snprintf(req.sandbox_id, sizeof req.sandbox_id, "%s", sb->id);
    snprintf(req.tenant, sizeof req.tenant, "%s", sb->tenant);
    char id[SQ_ID_MAX];
    sq_id_new("chk", id);
    pthread_mutex_lock(&sb->mu);
    sb->running_task[0] = '\0'; /* a task.cancel of the last task must not stop this */
    sb->cancel_running = false;
    pthread_mutex_unlock(&sb->mu);
    sq_task t = {.w = w, .sb = sb, .req = &req, .kind = "checkpoint", .started_mono = now};
    sq_task_outcome out = {.exit_code = -1};
    bool skipped = false;
    make_checkpoint(&t, id, NULL, true, true, &skipped, &out);
    json_decref(out.result);
    sq_log_ctx lc = {.sandbox_id = sb->id};
    if (out.failure.code == SQ_CANCELED)
        sq_info(&lc, "automatic checkpoint stopped: %s", out.failure.msg); /* a kill, a take-over, the lifetime */
    else if (out.failure.code != SQ_OK)
        /* The sandbox carries on; the next one is tried an interval later. */
        sq_error(&lc, "automatic checkpoint failed: code=%s: %s", sq_code_name(out.failure.code), out.failure.msg);
    else if (skipped)
        sq_info(&lc, "automatic checkpoint skipped: the workspace is unchanged since the latest one");
    sq_err ferr;
    if (sq_redis_flush(w, &ferr) < 0)
        sq_warn(&lc, "automatic checkpoint: redis writes: %s", ferr.msg);
    int64_t end = sq_mono_ms();
    sb->ckpt_auto_due = sq_ckpt_auto_next(now, end, sb->ckpt_auto_ms);
    *wait_ms = sq_ckpt_auto_wait(sb->ckpt_auto_ms, end, sb->ckpt_auto_due, *wait_ms);
}

int sq_handle_checkpoint(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    const json_t *b = req->body;
    switch (req->type) {
    case SQ_REQ_CHECKPOINT_CREATE:
        return sq_task_run(w, sb, req,
                           json_pack("{s:s, s:O?}", "checkpointId", json_string_value(json_object_get(b, "checkpointId")),
                                     "label", json_object_get(b, "label")),
                           create_body, err);
    case SQ_REQ_CHECKPOINT_RESTORE:
        return sq_task_run(w, sb, req,
                           json_pack("{s:s}", "checkpointId", json_string_value(json_object_get(b, "checkpointId"))),
                           restore_body, err);
    default:
        return sq_task_run(w, sb, req, json_object(), list_body, err);
    }
}
