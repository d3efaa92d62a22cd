/* persist.c — see persist.h. */
#include "lifecycle/persist.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/browser.h"
#include "handlers/checkpoint.h"
#include "handlers/handlers.h"
#include "handlers/route.h"
#include "lifecycle/live.h"
#include "lifecycle/persist_rules.h"
#include "lifecycle/task.h"
#include "lifecycle/transition.h"
#include "notify/emit.h"
#include "store/pg_now.h"
#include "store/redis_store.h"
#include "sq/clock.h"
#include "sq/ids.h"
#include "sq/log.h"
#include "sq/seal_blob.h"

#define SQL_SPEC_PUT                                                                                            \
    "INSERT INTO sandbox_specs (sandbox_id, spec_sealed, checkpoint_id, reason, persisted_at, updated_at) "    \
    "VALUES ($1, $2, $3, $4, now(), now()) ON CONFLICT (sandbox_id) DO UPDATE SET spec_sealed = $2, "           \
    "checkpoint_id = $3, reason = $4, persisted_at = now(), updated_at = now()"
#define SQL_SPEC_GET "SELECT spec_sealed, checkpoint_id FROM sandbox_specs WHERE sandbox_id = $1"
#define SQL_SPEC_DROP "DELETE FROM sandbox_specs WHERE sandbox_id = $1"
#define SQL_SPEC_UP "UPDATE sandbox_specs SET persisted_at = NULL, updated_at = now() WHERE sandbox_id = $1"

static int pg_one(sq_worker *w, const char *sql, int n, const char *const *p, PGresult **out, sq_err *err)
{
    return sq_pg_now(w, "sandbox_specs", sql, n, p, out, err);
}

/* The worker key, as egress.c reads it for proxy credentials: from the
 * environment, whether webhook delivery runs on this worker or not. */
static sq_wh_box key_box;
static bool key_ok;

static void init_box(void)
{
    sq_err err;
    key_ok = sq_wh_box_init(&key_box, getenv("SANDQ_WEBHOOK_SECRET_KEY"), &err) == 0;
    if (!key_ok)
        sq_warn(NULL, "persist: %s; sandbox.pause {persist: true} is refused", err.msg);
}

static const sq_wh_box *worker_box(sq_worker *w)
{
    (void)w;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_box);
    return key_ok && key_box.has_key ? &key_box : NULL;
}

/* Seal {"body": spec, "usedMs": used} and upsert it with the checkpoint id
 * (NULL: none yet) and why. */
static int put_spec(sq_worker *w, const sq_wh_box *box, sq_live_sandbox *sb, int64_t used, const char *ckpt,
                    const char *reason, sq_err *err)
{
    /* timeoutMs: the budget as sandbox.setTimeout may have moved it. */
    json_t *wrap = json_pack("{s:O, s:I, s:I}", "body", sb->spec, "usedMs", (json_int_t)used, "timeoutMs",
                             (json_int_t)sb->lifetime.timeout_ms);
    char *text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
    json_decref(wrap);
    if (!text)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    char *sealed = NULL;
    int rc = sq_seal_blob(box, sb->id, text, strlen(text), &sealed, err);
    memset(text, 0, strlen(text)); /* the env in clear goes from the heap at once */
    free(text);
    if (rc < 0)
        return -1;
    const char *p[] = {sb->id, sealed, ckpt, reason};
    PGresult *r = NULL;
    rc = pg_one(w, SQL_SPEC_PUT, 4, p, &r, err);
    free(sealed);
    if (rc < 0)
        return -1;
    PQclear(r);
    return 0;
}

int sq_persist_record_spec(sq_worker *w, sq_live_sandbox *sb, sq_err *err)
{
    if (!sq_persist_spec_auto(sb->spec))
        return 0;
    const sq_wh_box *box = worker_box(w);
    if (!box) {
        sq_warn(&(sq_log_ctx){.sandbox_id = sb->id},
                "checkpoint.auto: no worker key (SANDQ_WEBHOOK_SECRET_KEY) to seal the spec; after a crash this "
                "sandbox fails worker_lost");
        return 0;
    }
    if (put_spec(w, box, sb, 0, NULL, "auto", err) < 0)
        return -1;
    return sq_redis_sandbox_mark_auto(w, sb->id, err);
}

/* ---- persist -------------------------------------------------------------- */

int sq_persist_pause(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, sq_err *err)
{
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req ? req->request_id : NULL};
    sq_emit_target target = sq_target_of(sb);
    sq_err why;
    const sq_wh_box *box = worker_box(w);
    if (!box || !sb->spec) {
        /* The env must survive the worker, and it is never kept in clear. */
        sq_err_field(&why, SQ_CAPABILITY_UNAVAILABLE, "body.persist",
                     "persist: true needs the worker key (SANDQ_WEBHOOK_SECRET_KEY) to seal the sandbox's env; "
                     "this worker has none");
        return req ? sq_emit_rejected(w, &target, req, &why, err) : sq_err_set(err, why.code, "%s", why.msg);
    }
    if (sq_transition(w, sb, req, SQ_STATE_PAUSING, reason, NULL, NULL, err) < 0)
        return -1;
    char ckpt[SQ_ID_MAX];
    sq_id_new("chk", ckpt);
    sq_request none = {0};
    sq_task t = {.w = w, .sb = sb, .req = req ? req : &none, .kind = "checkpoint", .started_mono = sq_mono_ms()};
    sq_task_outcome out = {.exit_code = -1};
    sb->persisting = true; /* the drain's task grace is for tasks, not for this snapshot */
    sq_checkpoint_take(&t, ckpt, reason ? reason : "persist", false, &out);
    sb->persisting = false;
    json_decref(out.result);
    if (out.failure.code != SQ_OK) {
        /* Nothing was ended: it is ready again where it is, its browser back. */
        sq_error(&lc, "persist failed: %s", out.failure.msg);
        if (sb->browser && sq_browser_reopen(w, sb, req ? req : &none, err) < 0)
            return -1;
        return sq_transition(w, sb, req, SQ_STATE_READY, "persist_failed", out.failure.msg,
                             json_pack("{s:O}", "capabilities", sb->capabilities), err);
    }
    int64_t now = sq_now_ms();
    if (put_spec(w, box, sb, sq_lifetime_used(&sb->lifetime, now), ckpt, reason ? reason : "paused", err) < 0)
        return -1;
    sq_lifetime_pause(&sb->lifetime, now);
    if (sq_redis_sandbox_lifetime(w, sb, now, err) < 0)
        return -1;
    /* The processes end and the slot, workspace and browser go: what is kept
     * is the checkpoint and the sealed spec. */
    sq_live_teardown(w, sb);
    sb->persisted = true;
    if (sq_transition(w, sb, req, SQ_STATE_PAUSED, reason, NULL,
                      json_pack("{s:b, s:s}", "persisted", 1, "checkpointId", ckpt), err) < 0)
        return -1;
    /* Last: the lease is given up, so any worker may adopt it from now on. */
    if (sq_redis_sandbox_persisted(w, sb->id, sb->epoch, true, ckpt, reason, err) < 0)
        return -1;
    sq_info(&lc, "persisted (checkpoint %s); no worker holds it now", ckpt);
    return 0;
}

/* ---- bring-up --------------------------------------------------------------- */

typedef struct restore_ctx {
    const char *checkpoint_id;
} restore_ctx;

/* The checkpoint goes into the fresh workspace before the browser and the
 * agent start, so they start on the restored files (the browser profile). */
static int restore_hook(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, void *user, sq_err *why,
                        sq_err *err)
{
    (void)err;
    restore_ctx *c = user;
    sq_task t = {.w = w, .sb = sb, .req = req, .kind = "checkpoint", .started_mono = sq_mono_ms()};
    sq_task_outcome out = {.exit_code = -1};
    sq_checkpoint_restore_into(&t, c->checkpoint_id, &out);
    json_decref(out.result);
    if (out.failure.code != SQ_OK) {
        *why = out.failure;
        return 1;
    }
    return 0;
}

/* Open the sealed spec: *wrap {"body": create body, "usedMs": n}. 1: there
 * is none (or it does not open): *why says so. */
static int load_spec(sq_worker *w, const char *sandbox_id, json_t **wrap, char ckpt[64], sq_err *why, sq_err *err)
{
    *wrap = NULL;
    const char *p[] = {sandbox_id};
    PGresult *r = NULL;
    if (pg_one(w, SQL_SPEC_GET, 1, p, &r, err) < 0)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        sq_err_set(why, SQ_INTERNAL, "no sealed spec is recorded for this sandbox");
        return 1;
    }
    snprintf(ckpt, 64, "%s", PQgetisnull(r, 0, 1) ? "" : PQgetvalue(r, 0, 1));
    const sq_wh_box *box = worker_box(w);
    char *text = NULL;
    size_t n = 0;
    int rc = box ? sq_open_blob(box, sandbox_id, PQgetvalue(r, 0, 0), &text, &n, why)
                 : sq_err_set(why, SQ_CAPABILITY_UNAVAILABLE, "this worker has no key (SANDQ_WEBHOOK_SECRET_KEY) to "
                                                               "open the sandbox's sealed spec");
    PQclear(r);
    if (rc < 0)
        return 1;
    json_error_t je;
    *wrap = json_loadb(text, n, 0, &je);
    memset(text, 0, n);
    free(text);
    if (!*wrap || !json_is_object(json_object_get(*wrap, "body"))) {
        json_decref(*wrap);
        *wrap = NULL;
        sq_err_set(why, SQ_INTERNAL, "the sealed spec is not a create body");
        return 1;
    }
    return 0;
}

/* Take the lease of a free persisted sandbox; 1: not free (another worker
 * took it, or it ended meanwhile), answered by the caller as invalid_state. */
static int adopt(sq_worker *w, sq_live_sandbox *sb, sq_redis_sandbox *known, sq_err *err)
{
    if (sq_redis_sandbox_lookup(w, sb->id, known, err) < 0)
        return -1;
    int64_t epoch = 0;
    if (sq_redis_sandbox_adopt(w, sb->id, &epoch, err) < 0)
        return -1;
    if (epoch == 0)
        return 1;
    sb->epoch = epoch;
    sb->state = known->state;
    sb->persisted = true;
    sb->fenced = false;
    sb->handed_over = false;
    snprintf(sb->tenant, sizeof sb->tenant, "%s", known->tenant);
    snprintf(sb->region, sizeof sb->region, "%s", known->region);
    snprintf(sb->reply_to, sizeof sb->reply_to, "%s", known->reply_to);
    return 0;
}

static int not_free(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    sq_err_set(&why, SQ_INVALID_STATE, "the sandbox is no longer a persisted sandbox free to resume");
    sb->state = SQ_STATE_NONE;
    return sq_route_reject(w, NULL, req, &why, err);
}

int sq_persist_bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const char *reason, sq_err *err)
{
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
    int64_t t0 = sq_mono_ms();
    sq_redis_sandbox known;
    int a = adopt(w, sb, &known, err);
    if (a != 0)
        return a < 0 ? -1 : not_free(w, sb, req, err);
    json_t *wrap = NULL;
    char ckpt[64] = "";
    sq_err why;
    int ls = load_spec(w, sb->id, &wrap, ckpt, &why, err);
    if (ls < 0)
        return -1;
    if (known.checkpoint_id[0]) /* Redis names the one to restore (a crash: the latest) */
        snprintf(ckpt, sizeof ckpt, "%s", known.checkpoint_id);
    if (sq_transition(w, sb, req, SQ_STATE_ASSIGNING, reason, NULL,
                      json_pack("{s:s, s:s}", "workerId", w->cfg.worker_id, "region", sb->region), err) < 0) {
        json_decref(wrap);
        return -1;
    }
    if (ls > 0 || !ckpt[0]) {
        sq_error(&lc, "cannot bring the persisted sandbox up: %s", ls > 0 ? why.msg : "no checkpoint recorded");
        sb->persisted = false;
        return sq_live_fail(w, sb, req, "resume_failed", ls > 0 ? why.msg : "no checkpoint is recorded for it", err);
    }
    const json_t *spec = json_object_get(wrap, "body");
    /* What reads the create body on the way (the agent's options) reads the spec. */
    sq_request spec_req = *req;
    spec_req.body = (json_t *)spec;
    restore_ctx rc_ = {.checkpoint_id = ckpt};
    json_t *ready = NULL;
    sb->persisted = false; /* live again from here: a failure fails it (route no longer asks Redis) */
    int rc = sq_create_up_from_spec(w, sb, &spec_req, spec, restore_hook, &rc_, &ready, err);
    int64_t used = json_integer_value(json_object_get(wrap, "usedMs"));
    int64_t budget = json_integer_value(json_object_get(wrap, "timeoutMs"));
    json_decref(wrap);
    if (rc < 0 || !ready) {
        json_decref(ready);
        return rc;
    }
    /* The lifetime budget goes on from what was used before the persist; the
     * idle clock starts afresh (it measures time since the last task here). */
    int64_t now = sq_now_ms();
    sq_lifetime_start(&sb->lifetime, sb->limits.timeout_ms, sb->limits.idle_timeout_ms, now);
    sb->lifetime.used_ms = used > 0 ? used : 0;
    if (budget > 0)
        sb->lifetime.timeout_ms = budget;
    if (sq_redis_sandbox_lifetime(w, sb, now, err) < 0 ||
        sq_redis_sandbox_persisted(w, sb->id, sb->epoch, false, NULL, NULL, err) < 0) {
        json_decref(ready);
        return -1;
    }
    const char *p[] = {sb->id};
    PGresult *r = NULL;
    if (pg_one(w, SQL_SPEC_UP, 1, p, &r, err) < 0) {
        json_decref(ready);
        return -1;
    }
    PQclear(r);
    json_object_set_new(ready, "restored", json_true());
    json_object_set_new(ready, "checkpointId", json_string(ckpt));
    sq_info(&lc, "brought up from checkpoint %s in %lld ms", ckpt, (long long)(sq_mono_ms() - t0));
    return sq_transition_as(w, sb, req, SQ_STATE_READY, "sandbox.resumed", reason, NULL, ready, err);
}

int sq_persist_end(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_redis_sandbox known;
    int a = adopt(w, sb, &known, err);
    if (a != 0)
        return a < 0 ? -1 : not_free(w, sb, req, err);
    sb->persisted = false;
    /* Nothing runs: ending → ended at once. Its checkpoints and artifacts
     * stay, as a killed sandbox's do (retention); the sealed spec goes (the
     * env is not kept longer than the sandbox can need it). */
    const char *p[] = {sb->id};
    PGresult *r = NULL;
    if (pg_one(w, SQL_SPEC_DROP, 1, p, &r, err) < 0)
        return -1;
    PQclear(r);
    return sq_live_end(w, sb, req, "killed", NULL, err);
}

/* ---- drain and crash ------------------------------------------------------ */

int sq_persist_drain(sq_worker *w, sq_live_sandbox *sb, sq_err *err)
{
    if (sb->state != SQ_STATE_READY || !sb->runtime || !sb->spec || !worker_box(w))
        return 1;
    if (sq_persist_pause(w, sb, NULL, SQ_PERSIST_DRAINED, err) < 0)
        return -1;
    return sb->persisted ? 0 : 1;
}

#define SQL_LATEST_CKPT                                                                                         \
    "SELECT c.id FROM checkpoints c JOIN sandbox_specs s ON s.sandbox_id = c.sandbox_id "                      \
    "WHERE c.sandbox_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT 1"

int sq_persist_after_crash(sq_worker *w, const char *sandbox_id, const sq_redis_sandbox *known, bool *restorable,
                           sq_err *err)
{
    *restorable = false;
    if (!known->auto_checkpoint)
        return 0;
    const char *p[] = {sandbox_id};
    PGresult *r = NULL;
    if (pg_one(w, SQL_LATEST_CKPT, 1, p, &r, err) < 0)
        return -1;
    char ckpt[64] = "";
    if (PQntuples(r) == 1)
        snprintf(ckpt, sizeof ckpt, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    sq_log_ctx lc = {.sandbox_id = sandbox_id};
    if (!ckpt[0]) {
        sq_warn(&lc, "checkpoint.auto, but no checkpoint (or no sealed spec) yet: it fails worker_lost");
        return 0;
    }
    bool done = false;
    if (sq_redis_sandbox_crash_persist(w, sandbox_id, known->worker_id, ckpt, &done, err) < 0)
        return -1;
    if (done)
        sq_warn(&lc, "its worker %s is gone: it comes up from checkpoint %s at its next request", known->worker_id,
                ckpt);
    *restorable = done;
    return 0;
}
