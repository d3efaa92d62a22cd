/* create_kill.c — sandbox.create and sandbox.kill: bringing a sandbox up
 * (queued → assigning → ready, or failed) and down (ending → ended, which is
 * lifecycle/live.c's sq_live_end). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps/browser/recording.h"
#include "caps/browser/relay.h"
#include "caps/browser/relay_proc.h"
#include "caps/documents/convert.h"
#include "caps/documents/formats.h"
#include "lifecycle/create_opts.h"
#include "lifecycle/egress.h"
#include "lifecycle/live.h"
#include "lifecycle/persist.h"
#include "lifecycle/mailbox.h"
#include "lifecycle/transition.h"
#include "pipeline/completer.h"
#include "pipeline/job.h"
#include "notify/emit.h"
#include "notify/webhook_outbox.h"
#include "lifecycle/slots.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "handlers/agent.h"
#include "handlers/browser.h"
#include "handlers/handlers.h"
#include "sq/artifact_url.h"
#include "sq/clock.h"
#include "sq/log.h"

static int make_workspace(sq_worker *w, sq_live_sandbox *sb, const json_t *body, sq_err *err)
{
    snprintf(sb->workspace, sizeof sb->workspace, "%s/%s", w->cfg.workspace_root, sb->id);
    if (mkdir(sb->workspace, 0750) < 0 && errno != EEXIST)
        return sq_err_errno(err, "mkdir %s", sb->workspace);
    if (sq_workspace_disk_attach(w, sb, body, err) < 0)
        return -1;
    if (chown(sb->workspace, sb->host_uid, sb->host_gid) < 0)
        return sq_err_errno(err, "chown %s", sb->workspace);
    sb->workspace_fd = open(sb->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (sb->workspace_fd < 0)
        return sq_err_errno(err, "open %s", sb->workspace);
    return 0;
}

/* What is actually ready, reported in sandbox.ready's data.capabilities. */
static json_t *ready_capabilities(bool browser, bool agent, bool documents)
{
    return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", "exec", 1, "code", 1, "files", 1, "agent", agent, "browser",
                     browser, "documents", documents);
}

typedef enum { SLOT_TAKEN, SLOT_KILLED, SLOT_STOPPING, SLOT_ERROR } slot_wait;

/* "queued" is real: with every uid slot of this worker (host) taken, the
 * sandbox waits in queued until one frees. A kill sent meanwhile ends it
 * there — the one request that must not wait behind a capacity wait. */
static slot_wait wait_for_slot(sq_worker *w, sq_live_sandbox *sb, sq_job **kill, sq_err *err)
{
    for (int64_t logged = 0;;) {
        sq_err why;
        if (sq_slot_acquire(w, sb, &why) == 0)
            return SLOT_TAKEN;
        if (why.code != SQ_LIMIT_EXCEEDED) {
            *err = why;
            return SLOT_ERROR;
        }
        if (atomic_load(&w->stopping))
            return SLOT_STOPPING;
        if ((*kill = sq_mailbox_take_kill(sb)))
            return SLOT_KILLED;
        if (sq_mono_ms() - logged > 10000) {
            sq_info(&(sq_log_ctx){.sandbox_id = sb->id}, "queued: %s", why.msg);
            logged = sq_mono_ms();
        }
        sq_sleep_ms(100);
    }
}

/* What a create spec asks for, resolved and checked (before anything exists):
 * at create, and again when a persisted sandbox is brought up from its spec. */
typedef struct up_plan {
    sq_limits limits;
    sq_browser_opts browser;
    bool documents;
    sq_egress egress;
} up_plan;

static void plan_cleanup(up_plan *p)
{
    sq_egress_free(&p->egress);
    /* The relay's configuration holds the proxy's credentials: not left on
     * the stack once the browser has its own copy. */
    explicit_bzero(p->browser.relay_conf, sizeof p->browser.relay_conf);
}

static int plan_from_spec(sq_worker *w, const json_t *body, up_plan *p, sq_err *why)
{
    if (sq_limits_resolve(body, &w->cfg.limits, &p->limits, why) < 0)
        return -1;
    if (sq_create_check(&w->cfg, body, why) < 0)
        return -1;
    const char *art_prefix_in = json_string_value(
        json_object_get(json_object_get(json_object_get(body, "capabilities"), "storage"), "artifactPrefix"));
    if (art_prefix_in && !sq_art_prefix_valid(art_prefix_in)) /* issue 13: it becomes part of storage keys */
        return sq_err_field(why, SQ_INVALID_REQUEST, "body.capabilities.storage.artifactPrefix",
                            "artifactPrefix must be '/'-separated segments of [A-Za-z0-9._-], none of them '.' or '..'");
    const json_t *rec = json_object_get(json_object_get(body, "capabilities"), "recording");
    /* issue 11: the binary and the memory floor, before anything exists */
    sq_browser_opts_from(body, &p->browser);
    bool record_browser = json_is_true(json_object_get(rec, "browser"));
    if (record_browser && !sq_brec_binary())
        /* The browser's MP4 (docs/recording.md) needs ffmpeg: refused, so
         * nobody believes a video is being kept. */
        return sq_err_field(why, SQ_CAPABILITY_UNAVAILABLE, "body.capabilities.recording.browser",
                            "recording.browser (a video of the browser) needs ffmpeg, which this worker does not "
                            "have; the audit trail and the asciicast recordings are available");
    if (record_browser && (!json_is_true(json_object_get(rec, "enabled")) || !p->browser.wanted))
        return sq_err_field(why, SQ_INVALID_REQUEST, "body.capabilities.recording.browser",
                            "recording.browser records the browser: it needs recording.enabled: true and "
                            "capabilities.browser");
    if (sq_browser_create_check(&p->browser, sq_browser_binary() != NULL, p->limits.memory_mb, why) < 0)
        return -1;
    /* issue 15: LibreOffice installed, and room for it under the memory limit */
    p->documents = sq_doc_wanted(body);
    if (sq_doc_create_check(p->documents, sq_doc_soffice() != NULL, p->limits.memory_mb, why) < 0)
        return -1;
    /* issue 15: the proxy and allowOut/denyOut, resolved and pinned now */
    if (sq_egress_resolve(&w->cfg, body, &p->egress, why) < 0)
        return -1;
    if (p->browser.wanted && p->egress.has_proxy) {
        /* Chromium takes no credentials in --proxy-server: with them, it
         * goes through a relay in the sandbox that adds them (caps/browser/
         * relay.h, docs/egress.md). */
        if (p->egress.proxy.has_user) {
            const char *relay_why = "this worker has no tinyproxy (the browser's relay to a proxy with "
                                    "credentials); commands can use the proxy (docs/egress.md)";
            if (!sq_relay_binary() || sq_relay_conf(p->egress.proxy_text, &p->egress.proxy, p->egress.proxy_addr,
                                                    p->browser.relay_conf, sizeof p->browser.relay_conf,
                                                    &relay_why) < 0) {
                explicit_bzero(p->browser.relay_conf, sizeof p->browser.relay_conf);
                return sq_err_field(why, SQ_CAPABILITY_UNAVAILABLE, "body.capabilities.proxy.url", "%s", relay_why);
            }
            snprintf(p->browser.proxy_server, sizeof p->browser.proxy_server, "%s", SQ_RELAY_SERVER);
        } else {
            sq_proxy_url_bare(&p->egress.proxy, p->browser.proxy_server, sizeof p->browser.proxy_server);
        }
    }
    return 0;
}

/* The spec's fields the live sandbox keeps (env in memory only). */
static int apply_spec(sq_live_sandbox *sb, const json_t *body, up_plan *p, sq_err *err)
{
    const char *art_prefix = json_string_value(
        json_object_get(json_object_get(json_object_get(body, "capabilities"), "storage"), "artifactPrefix"));
    snprintf(sb->artifact_prefix, sizeof sb->artifact_prefix, "%s", art_prefix ? art_prefix : "");
    const json_t *env = json_object_get(body, "env");
    json_decref(sb->env);
    sb->env = env ? json_deep_copy(env) : json_object();
    const json_t *rec = json_object_get(json_object_get(body, "capabilities"), "recording");
    sb->recording = json_is_true(json_object_get(rec, "enabled")); /* before the first event: the trail starts at created */
    sb->recording_browser = sb->recording && json_is_true(json_object_get(rec, "browser"));
    sb->limits = p->limits;
    /* Automatic checkpoints (handlers/checkpoint.c): the first one an
     * interval from now, at create and after a persisted sandbox comes back. */
    sb->ckpt_auto_ms = sq_create_auto_checkpoint_ms(body);
    sb->ckpt_auto_due = sq_mono_ms() + sb->ckpt_auto_ms;
    json_decref(sb->spec);
    sb->spec = json_deep_copy(body); /* kept for a persist (sealed then: lifecycle/persist.h) */
    return sq_create_proxy_env(p->egress.has_proxy ? p->egress.proxy_text : NULL, sb, err);
}

/* From a held slot to a sandbox whose runtime and services are up: the
 * workspace, the runtime, `hook` (a persisted sandbox's restore, before the
 * services start on the restored files), the browser and the agent. *ready
 * gets sandbox.ready's (or .resumed's) data; NULL when set-up failed and the
 * sandbox was failed (setup_failed). -1: a store failure. */
static int bring_up(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const json_t *body, up_plan *p,
                    sq_up_hook hook, void *user, json_t **ready, sq_err *err)
{
    *ready = NULL;
    sq_err why;
    sq_log_ctx lc = {.sandbox_id = sb->id, .request_id = req->request_id};
    sq_sandbox_opts opts = {
        .sandbox_id = sb->id,
        .workspace_dir = sb->workspace,
        .host_uid = sb->host_uid,
        .host_gid = sb->host_gid,
        .id_range = SQ_SLOT_IDS,
        .limits = &(sq_sandbox_limits){.memory_bytes = (uint64_t)p->limits.memory_mb << 20,
                                       .cpu_millis = (uint32_t)p->limits.cpu_millis,
                                       .pids = (uint32_t)p->limits.pids},
    };
    sq_create_runtime_opts(&w->cfg, body, &opts);
    sq_egress_apply(&p->egress, &opts);
    int64_t t0 = sq_mono_ms();
    sq_sandbox *rt = NULL;
    if (make_workspace(w, sb, body, &why) < 0 || sq_sandbox_start(&opts, &rt, &why) < 0) {
        sq_error(&lc, "sandbox set-up failed: %s", why.msg);
        return sq_live_fail(w, sb, req, "setup_failed", why.msg, err);
    }
    sq_live_set_runtime(sb, rt);
    sq_info(&lc, "sandbox started in %lld ms (host uid %u)", (long long)(sq_mono_ms() - t0),
            (unsigned)sb->host_uid);
    if (hook) {
        int hr = hook(w, sb, req, user, &why, err);
        if (hr < 0)
            return -1;
        if (hr > 0) {
            sq_error(&lc, "sandbox set-up failed: %s", why.msg);
            return sq_live_fail(w, sb, req, "restore_failed", why.msg, err);
        }
    }
    bool browser_ready = false; /* issue 11: sandbox.ready waits for the browser */
    if (p->browser.wanted && sq_browser_bring_up(w, sb, req, &p->browser, &browser_ready, err) < 0)
        return -1;
    bool agent_ready = false; /* issue 12: sandbox.agent.ready or .failed; the sandbox becomes ready either way */
    if (sq_agent_bring_up(w, sb, req, &agent_ready, err) < 0)
        return -1;
    json_decref(sb->capabilities);
    sb->capabilities = ready_capabilities(browser_ready, agent_ready, p->documents);
    json_t *effective = json_pack("{s:I, s:f, s:I}", "memoryMb", (json_int_t)p->limits.memory_mb, "cpus",
                                  (double)p->limits.cpu_millis / 1000.0, "pids", (json_int_t)p->limits.pids);
    int rc = sq_pg_sandbox_limits(w, sb->id, effective, err);
    json_decref(effective);
    if (rc < 0)
        return -1;
    *ready = json_pack("{s:O}", "capabilities", sb->capabilities);
    if (p->egress.has_proxy) /* the password is never in an event */
        json_object_set_new(*ready, "proxy", json_string(p->egress.proxy_redacted));
    return 0;
}

int sq_create_up_from_spec(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, const json_t *spec,
                           sq_up_hook hook, void *user, json_t **ready, sq_err *err)
{
    *ready = NULL;
    __attribute__((cleanup(plan_cleanup))) up_plan p = {0};
    sq_err why;
    if (plan_from_spec(w, spec, &p, &why) < 0 || apply_spec(sb, spec, &p, &why) < 0)
        /* A spec that was valid at create and is not on this worker (no
         * browser binary, another proxy policy): the sandbox cannot come up here. */
        return sq_live_fail(w, sb, req, "setup_failed", why.msg, err);
    if (sq_slot_acquire(w, sb, &why) < 0)
        return sq_live_fail(w, sb, req, "setup_failed", why.msg, err);
    return bring_up(w, sb, req, spec, &p, hook, user, ready, err);
}

int sq_handle_create(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    const json_t *body = req->body;
    const char *region = json_string_value(json_object_get(body, "region"));
    sq_emit_target bare = {.sandbox_id = req->sandbox_id, .tenant = req->tenant, .reply_to = req->reply_to};
    if (region && strcmp(region, w->cfg.region) != 0) {
        sq_err why;
        sq_err_field(&why, SQ_INVALID_REQUEST, "body.region",
                     "region %s was asked, but this request reached a worker of region %s; publish it to the %s "
                     "requests topic",
                     region, w->cfg.region, region);
        return sq_emit_rejected(w, &bare, req, &why, err);
    }
    sq_err why;
    __attribute__((cleanup(plan_cleanup))) up_plan p = {0};
    if (plan_from_spec(w, body, &p, &why) < 0)
        return sq_emit_rejected(w, &bare, req, &why, err);

    snprintf(sb->tenant, sizeof sb->tenant, "%s", req->tenant);
    snprintf(sb->region, sizeof sb->region, "%s", w->cfg.region);
    snprintf(sb->reply_to, sizeof sb->reply_to, "%s", req->reply_to);
    if (apply_spec(sb, body, &p, err) < 0)
        return -1;

    if (sq_redis_sandbox_create(w, sb, json_string_value(json_object_get(body, "runtime")) ?: "base", &why) < 0) {
        if (why.code != SQ_SANDBOX_EXISTS) {
            *err = why;
            return -1;
        }
        bare.has_stream = true;
        return sq_emit_rejected(w, &bare, req, &why, err);
    }
    sb->epoch = 1;
    json_t *stored_caps = sq_egress_caps_for_store(json_object_get(body, "capabilities"), &p.egress, sb->id, err);
    if (p.egress.has_proxy && !stored_caps)
        return -1;
    int inserted = sq_pg_sandbox_insert(w, sb, req, stored_caps, err);
    json_decref(stored_caps);
    if (inserted < 0 || sq_webhook_subscribe_sandbox(w, req, err) < 0 ||
        sq_transition(w, sb, req, SQ_STATE_QUEUED, NULL, NULL, NULL, err) < 0)
        return -1;
    sq_job *kill = NULL;
    switch (wait_for_slot(w, sb, &kill, err)) {
    case SLOT_TAKEN:
        break;
    case SLOT_KILLED: { /* killed while queued: it never ran; the events name the kill */
        /* They are the kill's events, counted against the kill's job: it is
         * marked done only once they are delivered and in the audit log, which
         * is what answers a later duplicate of the kill (pipeline/answer.h). */
        sq_job *create = sq_job_current();
        sq_job_set_current(kill);
        int rc = sq_live_end(w, sb, &kill->req, "killed", NULL, err);
        sq_job_set_current(create);
        if (sq_completer_finish_now(kill, rc == 0) < 0)
            sq_job_abandon(kill);
        return rc;
    }
    case SLOT_STOPPING:
        return sq_transition(w, sb, req, SQ_STATE_FAILED, "worker_shutdown",
                             "the worker shut down before a place for this sandbox was free", NULL, err);
    default:
        return -1;
    }
    if (sq_transition(w, sb, req, SQ_STATE_ASSIGNING, NULL, NULL,
                      json_pack("{s:s, s:s}", "workerId", w->cfg.worker_id, "region", sb->region), err) < 0)
        return -1;
    json_t *ready = NULL;
    if (bring_up(w, sb, req, body, &p, NULL, NULL, &ready, err) < 0)
        return -1;
    if (!ready)
        return 0; /* failed (setup_failed), said so */
    int64_t now = sq_now_ms();
    sq_lifetime_start(&sb->lifetime, p.limits.timeout_ms, p.limits.idle_timeout_ms, now);
    if (sq_redis_sandbox_lifetime(w, sb, now, err) < 0 || sq_persist_record_spec(w, sb, err) < 0) {
        json_decref(ready);
        return -1;
    }
    return sq_transition(w, sb, req, SQ_STATE_READY, NULL, NULL, ready, err);
}

int sq_handle_kill(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    return sq_live_end(w, sb, req, "killed", NULL, err);
}
