/* dispatch.c — see dispatch.h. */
#include "dispatch.h"

#include <stdio.h>
#include <string.h>

#include "handlers/handlers.h"
#include "notify/emit.h"
#include "registry.h"
#include "state_machine.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "sq/log.h"
#include "sq/workspace_path.h"

/* Bytes that are not a request envelope at all go to the DLQ unchanged, with
 * the reason in headers, so nothing is silently dropped. */
static int to_dlq(sq_worker *w, const rd_kafka_message_t *m, const sq_err *why)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    const char *code = sq_code_name(why->code);
    rd_kafka_header_add(h, "sandq-error-code", -1, code, (ssize_t)strlen(code));
    rd_kafka_header_add(h, "sandq-error", -1, why->msg, (ssize_t)strlen(why->msg));
    rd_kafka_resp_err_t rc = rd_kafka_producev(
        w->producer, RD_KAFKA_V_TOPIC(w->topic_dlq), RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_END);
    if (rc) {
        rd_kafka_headers_destroy(h);
        sq_error(NULL, "dlq produce failed: %s", rd_kafka_err2str(rc));
        return -1;
    }
    sq_warn(NULL, "sent %s [%d] @%lld to the DLQ: %s", rd_kafka_topic_name(m->rkt), (int)m->partition,
            (long long)m->offset, why->msg);
    return 0;
}

/* Where a rejection goes: into the sandbox's stream when the sandbox exists
 * (it takes the next seq), otherwise seq 0 and the request's own replyTo. */
static sq_emit_target rejection_target(sq_worker *w, const sq_request *req, sq_redis_sandbox *known)
{
    sq_emit_target t = {.sandbox_id = req->sandbox_id[0] ? req->sandbox_id : NULL, .tenant = req->tenant,
                        .reply_to = req->reply_to};
    sq_live_sandbox *sb = t.sandbox_id ? sq_registry_get(w, t.sandbox_id) : NULL;
    if (sb)
        return sq_target_of(sb);
    sq_err ignore;
    if (t.sandbox_id && sq_redis_sandbox_lookup(w, t.sandbox_id, known, &ignore) == 0 &&
        known->state != SQ_STATE_NONE) {
        t.has_stream = true;
        t.tenant = known->tenant;
        t.region = known->region;
        t.reply_to = known->reply_to;
    }
    return t;
}

static int reject(sq_worker *w, const sq_request *req, const sq_err *why, sq_err *err)
{
    sq_redis_sandbox known;
    memset(&known, 0, sizeof known);
    sq_emit_target t = rejection_target(w, req, &known);
    if (sq_emit_rejected(w, &t, req, why, err) < 0)
        return -1;
    if (req->request_id[0])
        return sq_pg_request_record(w, req->request_id, req->sandbox_id, req->type_name[0] ? req->type_name : "?",
                                    sq_code_name(why->code), err);
    return 0;
}

/* The sandbox exists in Redis in a live state but this worker does not hold
 * it: its worker went away (or this worker restarted). Say so explicitly
 * rather than leave it claiming to be ready. */
static int mark_lost(sq_worker *w, const sq_request *req, const sq_redis_sandbox *known, sq_err *err)
{
    sq_live_sandbox tmp = {.state = known->state, .workspace_fd = -1, .slot_lock_fd = -1};
    snprintf(tmp.id, sizeof tmp.id, "%s", req->sandbox_id);
    snprintf(tmp.tenant, sizeof tmp.tenant, "%s", known->tenant);
    snprintf(tmp.region, sizeof tmp.region, "%s", known->region);
    snprintf(tmp.reply_to, sizeof tmp.reply_to, "%s", known->reply_to);
    sq_warn(&(sq_log_ctx){.sandbox_id = tmp.id}, "sandbox was %s on worker %s, which no longer runs it",
            sq_state_name(known->state), known->worker_id);
    return sq_transition(w, &tmp, req, SQ_STATE_FAILED, "worker_lost",
                         "the worker that ran this sandbox stopped; its processes are gone", NULL, err);
}

static int route(sq_worker *w, const sq_request *req, sq_err *err)
{
    sq_err why;
    sq_live_sandbox *sb = sq_registry_get(w, req->sandbox_id);
    sq_state state = sb ? sb->state : SQ_STATE_NONE;
    const char *owner_tenant = sb ? sb->tenant : NULL;
    sq_redis_sandbox known;
    if (!sb) {
        if (sq_redis_sandbox_lookup(w, req->sandbox_id, &known, err) < 0)
            return -1;
        state = known.state;
        owner_tenant = known.tenant;
        if (state != SQ_STATE_NONE && !sq_state_is_terminal(state) && strcmp(known.tenant, req->tenant) == 0 &&
            req->type != SQ_REQ_SANDBOX_CREATE) {
            if (mark_lost(w, req, &known, err) < 0)
                return -1;
            state = SQ_STATE_FAILED;
        }
    }
    if (state != SQ_STATE_NONE && req->type != SQ_REQ_SANDBOX_CREATE && strcmp(owner_tenant, req->tenant) != 0) {
        sq_err_field(&why, SQ_FORBIDDEN, "tenant", "this sandbox belongs to another tenant");
        return reject(w, req, &why, err);
    }
    if (sq_sm_check(state, req->type, &why) < 0)
        return reject(w, req, &why, err);

    switch (req->type) {
    case SQ_REQ_SANDBOX_CREATE:
        return sq_handle_create(w, req, err);
    case SQ_REQ_SANDBOX_KILL:
        return sq_handle_kill(w, sb, req, err);
    case SQ_REQ_SANDBOX_PAUSE:
        return sq_handle_pause(w, sb, req, err);
    case SQ_REQ_SANDBOX_RESUME:
        return sq_handle_resume(w, sb, req, err);
    case SQ_REQ_SANDBOX_SET_TIMEOUT:
        return sq_handle_set_timeout(w, sb, req, err);
    case SQ_REQ_TASK_EXEC:
        return sq_handle_exec(w, sb, req, err);
    case SQ_REQ_TASK_CODE:
        return sq_handle_code(w, sb, req, err);
    case SQ_REQ_FILES_WRITE:
    case SQ_REQ_FILES_READ:
    case SQ_REQ_FILES_LIST:
    case SQ_REQ_FILES_REMOVE: {
        /* A lexical escape is refused before any task exists; a symlink escape
         * is caught by the kernel during the task (task.failed). */
        const json_t *p = json_object_get(req->body, "path");
        char rel[4200];
        if (p && sq_workspace_path(json_string_value(p), "body.path", rel, sizeof rel, &why) < 0)
            return reject(w, req, &why, err);
        return sq_handle_files(w, sb, req, err);
    }
    default:
        sq_err_field(&why, SQ_CAPABILITY_DISABLED, "type", "%s is not available on this worker yet", req->type_name);
        return reject(w, req, &why, err);
    }
}

int sq_dispatch(sq_worker *w, const rd_kafka_message_t *m)
{
    sq_request req;
    sq_err why, err;
    sq_err_clear(&err);
    int rc = 0;
    sq_parse_outcome po = sq_request_parse(m->payload, m->len, w->cfg.max_request_bytes, &req, &why);
    sq_log_ctx lc = {.sandbox_id = req.sandbox_id, .request_id = req.request_id, .task_id = req.task_id};
    if (po == SQ_PARSE_NOT_ENVELOPE) {
        rc = to_dlq(w, m, &why);
    } else if (po == SQ_PARSE_REJECTED) {
        rc = reject(w, &req, &why, &err);
    } else {
        bool seen = false;
        if (sq_redis_request_seen(w, req.request_id, &seen, &err) < 0) {
            rc = -1;
        } else if (seen) {
            sq_info(&lc, "duplicate %s acknowledged without effect", req.type_name);
        } else {
            sq_debug(&lc, "handling %s", req.type_name);
            rc = route(w, &req, &err);
            if (rc == 0 && (sq_redis_request_mark(w, req.request_id, &err) < 0 ||
                            sq_pg_request_record(w, req.request_id, req.sandbox_id, req.type_name, "done", &err) < 0))
                rc = -1;
        }
    }
    if (rc == 0 && sq_emit_flush(w, &err) < 0)
        rc = -1;
    if (rc < 0)
        sq_error(&lc, "could not make the effects of %s durable: %s", req.type_name[0] ? req.type_name : "message",
                 err.msg);
    sq_request_free(&req);
    return rc;
}

static void fail_one(sq_worker *w, sq_live_sandbox *sb, void *user)
{
    const char *const *why = user;
    sq_err err;
    sq_sandbox_destroy(sb->runtime);
    sb->runtime = NULL;
    if (sq_transition(w, sb, NULL, SQ_STATE_FAILED, why[0], why[1], NULL, &err) < 0)
        sq_error(&(sq_log_ctx){.sandbox_id = sb->id}, "could not record failure: %s", err.msg);
    sq_sandbox_teardown(w, sb);
}

void sq_dispatch_fail_all(sq_worker *w, const char *reason, const char *message)
{
    const char *why[2] = {reason, message};
    sq_registry_each(w, fail_one, (void *)why);
    sq_err err;
    sq_emit_flush(w, &err);
}
