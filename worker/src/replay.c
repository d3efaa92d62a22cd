/* replay.c — see replay.h. */
#include "replay.h"

#include <string.h>

#include "notify/emit.h"
#include "sq/log.h"

/* The reply topic an event went to first (emit.c, dispatch.c): a sandbox's
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

int sq_replay_events(sq_worker *w, sq_job *job, sq_err *err)
{
    const sq_request *req = &job->req;
    if (!req->request_id[0])
        return 0;
    /* Not counted against the job: a replay is best effort (replay.h). */
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

void sq_replay_duplicate(sq_worker *w, sq_job *job)
{
    sq_err err;
    if (sq_replay_events(w, job, &err) < 0) {
        sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
        sq_warn(&lc, "could not replay the events of a duplicate: %s", err.msg);
    }
}
