/* answer.c — see answer.h: a recorded answer published again, a request's
 * stored events replayed to a duplicate, and the one place a duplicate is
 * acknowledged. The rules these follow are pure (answer_rules.c). */
#include "pipeline/answer.h"

#include <stdio.h>
#include <string.h>

#include "notify/emit.h"
#include "pipeline/completer.h"
#include "pipeline/job.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "metrics.h"
#include "sq/log.h"

/* Publish a recorded answer again and queue its history row; `why` ends the
 * log line. */
static int publish_again(sq_worker *w, const char *envelope, const char *why, sq_err *err)
{
    json_error_t jerr;
    json_t *ev = json_loads(envelope, 0, &jerr);
    if (!ev)
        return sq_err_set(err, SQ_INTERNAL, "recorded answer is not JSON: %s", jerr.text);
    const char *sandbox_id = json_string_value(json_object_get(ev, "sandboxId"));
    /* The sandbox's replyTo got the first copy; it gets this one too. */
    sq_redis_sandbox known = {0};
    sq_err ignore;
    if (sandbox_id)
        sq_redis_sandbox_lookup(w, sandbox_id, &known, &ignore);
    int rc = sq_pg_event_append(w, ev, envelope, err);
    if (rc == 0)
        rc = sq_publish_event(w, sandbox_id, sandbox_id ? strlen(sandbox_id) : 0, envelope, known.reply_to, err);
    sq_log_ctx lc = {.sandbox_id = sandbox_id,
                     .request_id = json_string_value(json_object_get(ev, "requestId"))};
    sq_info(&lc, "published again the %s %s", json_string_value(json_object_get(ev, "type")), why);
    json_decref(ev);
    return rc;
}

int sq_answer_again(sq_worker *w, const char *envelope, sq_err *err)
{
    return publish_again(w, envelope, "its previous owner answered with", err);
}

int sq_answer_outcome_again(sq_worker *w, sq_job *job, sq_err *err)
{
    if (sq_redis_request_answered(w, job->req.request_id, job->answer, err) < 0)
        return -1;
    return publish_again(w, job->answer, "it had answered with before a failure (not run again)", err);
}

int sq_answer_task_lost(sq_worker *w, const sq_emit_target *t, sq_job *job, const char *why, sq_err *err)
{
    const sq_request *req = &job->req;
    const char *kind = sq_req_task_kind(req->type);
    char msg[512];
    snprintf(msg, sizeof msg, "the task ran, but its outcome could not be recorded (%s); it is not run again", why);
    json_t *d = json_object();
    json_object_set_new(d, "kind", json_string(kind ? kind : "exec"));
    json_object_set_new(d, "code", json_string(sq_code_name(SQ_INTERNAL)));
    json_object_set_new(d, "message", json_string(msg));
    json_object_set_new(d, "reason", json_string("outcome_lost"));
    json_object_set_new(d, "durationMs", json_integer(0));
    sq_log_ctx lc = {.sandbox_id = req->sandbox_id, .request_id = req->request_id, .task_id = req->task_id};
    sq_error(&lc, "%s", msg);
    if (sq_pg_task_finished(w, req->task_id, sq_code_name(SQ_INTERNAL), msg, -1, NULL, 0, err) < 0)
        return -1;
    return sq_emit(w, t, req, req->task_id, "sandbox.task.failed", d, err);
}

bool sq_answer_ledger_knows(sq_worker *w, const sq_request *req)
{
    /* Asked on the actor's thread where it can be, so it costs no serial time
     * on the poller. */
    bool known = false;
    sq_err pg_err;
    if (sq_pg_request_known(w, req->request_id, &known, &pg_err) < 0)
        sq_warn(NULL, "dedupe ledger unavailable (%s); trusting Redis", pg_err.msg);
    return known;
}

/* The reply topic an event went to first (emit.c, handlers/route.c): a sandbox's
 * events go to its replyTo; a request's rejection where no sandbox is known
 * goes to the request's own replyTo — and so does every answer to a create,
 * whose replyTo is the sandbox's when it was created, and the only one when it
 * was refused (say sandbox_exists: the existing sandbox's replyTo is someone
 * else's). */
static const char *reply_topic(const sq_request *req, const char *sandbox_reply_to)
{
    if (req->type == SQ_REQ_SANDBOX_CREATE || !sandbox_reply_to)
        return req->reply_to;
    return sandbox_reply_to;
}

int sq_answer_replay(sq_worker *w, sq_job *job, sq_err *err)
{
    const sq_request *req = &job->req;
    if (!req->request_id[0])
        return 0;
    /* Not counted against the job: a replay is best effort (answer.h). */
    sq_job *current = sq_job_current();
    sq_job_set_current(NULL);
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    int rc = -1, n = 0;
    if (sq_pool_pg(&w->pool, c, err) == 0) {
        const char *p[] = {req->request_id};
        /* events_request (sql/009) makes this an index lookup. seq orders a
         * request's events (they are taken one after another); seq-0 events
         * (rejections outside any stream) by when they were recorded. */
        PGresult *r = PQexecParams(c->pg,
                                   "SELECT e.envelope::text, e.sandbox_id, s.reply_to FROM events e "
                                   "LEFT JOIN sandboxes s ON s.id = e.sandbox_id "
                                   "WHERE e.request_id = $1 ORDER BY e.seq, e.recorded_at, e.event_id",
                                   1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            rc = 0;
            n = PQntuples(r);
            for (int i = 0; rc == 0 && i < n; i++) {
                const char *env = PQgetvalue(r, i, 0);
                const char *key = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
                const char *reply = reply_topic(req, PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2));
                size_t klen = key ? strlen(key) : job->msg->key_len;
                const void *k = key ? (const void *)key : job->msg->key;
                rc = sq_publish_event(w, k, klen, env, reply, err);
            }
        } else {
            sq_err_set(err, SQ_INTERNAL, "postgres: %s", PQresultErrorMessage(r));
            if (PQstatus(c->pg) == CONNECTION_BAD)
                sq_pool_drop_pg(c);
        }
        PQclear(r);
    }
    sq_pool_release(&w->pool, c);
    sq_job_set_current(current);
    if (rc == 0) {
        sq_log_ctx lc = {.sandbox_id = req->sandbox_id, .request_id = req->request_id};
        sq_info(&lc, "replayed %d stored events of a duplicate %s", n, req->type_name);
    }
    return rc;
}

void sq_answer_duplicate(sq_worker *w, sq_job *job, sq_dedupe seen)
{
    sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
    sq_info(&lc, "duplicate %s acknowledged without effect", job->req.type_name);
    sq_metrics_duplicate();
    sq_job_set_current(NULL); /* a duplicate produces nothing of its own */
    if (seen != SQ_DEDUPE_IN_FLIGHT) {
        sq_err err;
        if (sq_answer_replay(w, job, &err) < 0)
            sq_warn(&lc, "could not replay the events of a duplicate: %s", err.msg);
    }
    /* Nothing of this copy's to record — the first copy did — except a fresh
     * claim the ledger knows: that key is marked done again (and the ledger's
     * row stays as it is: ON CONFLICT DO NOTHING). */
    job->parsed = seen == SQ_DEDUPE_NEW;
    if (sq_completer_finish_now(job, true) < 0)
        sq_job_abandon(job);
}
