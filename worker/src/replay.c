/* replay.c — see replay.h. */
#include "replay.h"

#include <string.h>

#include "notify/emit.h"
#include "store/redis_store.h"
#include "sq/log.h"

int sq_replay_events(sq_worker *w, sq_job *job, sq_err *err)
{
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    int rc = -1;
    if (sq_pool_pg(&w->pool, c, err) == 0) {
        const char *p[] = {job->req.request_id};
        PGresult *r = PQexecParams(c->pg,
                                   "SELECT envelope::text, sandbox_id FROM events WHERE request_id = $1 "
                                   "ORDER BY seq, recorded_at",
                                   1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            rc = 0;
            /* The sandbox's replyTo gets the replay too, as it got the original. */
            sq_redis_sandbox known = {0};
            sq_err ignore;
            if (job->req.sandbox_id[0])
                sq_redis_sandbox_lookup(w, job->req.sandbox_id, &known, &ignore);
            for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
                const char *env = PQgetvalue(r, i, 0);
                const char *key = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
                size_t klen = key ? strlen(key) : job->msg->key_len;
                const void *k = key ? (const void *)key : job->msg->key;
                rc = sq_produce(w, w->topic_events, k, klen, env, strlen(env), NULL, err);
                if (rc == 0 && known.reply_to[0])
                    rc = sq_produce(w, known.reply_to, k, klen, env, strlen(env), NULL, err);
            }
            sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
            sq_info(&lc, "replayed %d stored events of a duplicate %s", PQntuples(r), job->req.type_name);
        } else {
            sq_err_set(err, SQ_INTERNAL, "postgres: %s", PQresultErrorMessage(r));
            if (PQstatus(c->pg) == CONNECTION_BAD)
                sq_pool_drop_pg(c);
        }
        PQclear(r);
    }
    sq_pool_release(&w->pool, c);
    return rc;
}
