/* ownership.c — see ownership.h. */
#include "pipeline/ownership.h"

#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "lifecycle/persist.h"
#include "lifecycle/transition.h"
#include "notify/emit.h"
#include "sq/clock.h"
#include "sq/log.h"

int sq_fail_lost(sq_worker *w, const sq_request *req, const char *sandbox_id, const sq_redis_sandbox *known,
                 sq_err *err)
{
    int64_t epoch = 0;
    if (sq_redis_sandbox_claim(w, sandbox_id, known->worker_id, &epoch, err) < 0)
        return -1;
    if (epoch == 0)
        return 0; /* already taken over, or ended meanwhile */
    sq_live_sandbox tmp = {.state = known->state, .workspace_fd = -1, .slot_lock_fd = -1, .epoch = epoch};
    snprintf(tmp.id, sizeof tmp.id, "%s", sandbox_id);
    snprintf(tmp.tenant, sizeof tmp.tenant, "%s", known->tenant);
    snprintf(tmp.region, sizeof tmp.region, "%s", known->region);
    snprintf(tmp.reply_to, sizeof tmp.reply_to, "%s", known->reply_to);
    sq_log_ctx lc = {.sandbox_id = tmp.id};
    sq_warn(&lc, "sandbox was %s on worker %s, which no longer runs it: failing it (worker_lost)",
            sq_state_name(known->state), known->worker_id);
    return sq_transition(w, &tmp, req, SQ_STATE_FAILED, "worker_lost",
                         "the worker that ran this sandbox stopped or lost its partition; its processes are gone",
                         NULL, err);
}

/* Reaper: fail the live sandboxes of workers whose heartbeat expired. Only
 * workers of this deployment (the same events topic) are listed together: a
 * sandbox is failed on the stream its consumers read. */
static void reap(sq_worker *w, redisContext *r)
{
    redisReply *ws = redisCommand(r, "SMEMBERS sandq:workers:%s", w->topic_events);
    if (!ws || ws->type != REDIS_REPLY_ARRAY) {
        if (ws)
            freeReplyObject(ws);
        return;
    }
    for (size_t i = 0; i < ws->elements; i++) {
        const char *id = ws->element[i]->str;
        if (strcmp(id, w->cfg.worker_id) == 0)
            continue;
        redisReply *hb = redisCommand(r, "EXISTS sandq:worker:{%s}:heartbeat", id);
        bool alive = hb && hb->type == REDIS_REPLY_INTEGER && hb->integer == 1;
        if (hb)
            freeReplyObject(hb);
        if (alive)
            continue;
        redisReply *sbs = redisCommand(r, "SMEMBERS sandq:worker:{%s}:sandboxes", id);
        size_t left = 0;
        for (size_t k = 0; sbs && sbs->type == REDIS_REPLY_ARRAY && k < sbs->elements; k++) {
            const char *sbx = sbs->element[k]->str;
            sq_redis_sandbox known;
            sq_err err;
            if (sq_redis_sandbox_lookup(w, sbx, &known, &err) < 0) {
                left++;
                continue;
            }
            if (known.state != SQ_STATE_NONE && !sq_state_is_terminal(known.state) &&
                strcmp(known.worker_id, id) == 0) {
                /* checkpoint {auto: true}: persisted from its latest
                 * checkpoint for the next owner rather than failed (issue 13). */
                bool restorable = false;
                if (sq_persist_after_crash(w, sbx, &known, &restorable, &err) < 0 ||
                    (!restorable && sq_fail_lost(w, NULL, sbx, &known, &err) < 0)) {
                    left++;
                    continue;
                }
            }
            freeReplyObject(redisCommand(r, "SREM sandq:worker:{%s}:sandboxes %s", id, sbx));
        }
        if (sbs)
            freeReplyObject(sbs);
        if (left == 0)
            freeReplyObject(redisCommand(r, "SREM sandq:workers:%s %s", w->topic_events, id));
    }
    freeReplyObject(ws);
}

static void *ownership_main(void *arg)
{
    sq_worker *w = arg;
    int64_t next_reap = 0;
    /* The heartbeat outlives `stopping`: during a graceful shutdown the actors
     * still record their sandboxes as failed (worker_shutdown), and a beat
     * given up early would let another worker's reaper claim them first. */
    while (!atomic_load(&w->heartbeat_done)) {
        sq_store_conn *c = sq_pool_acquire(&w->pool);
        sq_err err;
        if (sq_pool_redis(&w->pool, c, &err) == 0) {
            redisReply *r = redisCommand(c->redis, "SET sandq:worker:{%s}:heartbeat %s EX %lld", w->cfg.worker_id,
                                         w->incarnation, (long long)w->cfg.heartbeat_ttl_s);
            if (r)
                freeReplyObject(r);
            r = redisCommand(c->redis, "SADD sandq:workers:%s %s", w->topic_events, w->cfg.worker_id);
            if (r)
                freeReplyObject(r);
            else
                sq_pool_drop_redis(c);
        }
        bool reap_now = sq_mono_ms() >= next_reap && c->redis && !atomic_load(&w->stopping);
        if (reap_now) {
            /* The sweep uses its own borrowed connection for the listing and the
             * normal store calls (which borrow another) for claims. */
            reap(w, c->redis);
            next_reap = sq_mono_ms() + w->cfg.reaper_interval_ms;
        }
        sq_pool_release(&w->pool, c);
        /* Refresh at a third of the TTL: two missed beats still leave it alive. */
        int64_t sleep_ms = w->cfg.heartbeat_ttl_s * 1000 / 3;
        if (sleep_ms > w->cfg.reaper_interval_ms)
            sleep_ms = w->cfg.reaper_interval_ms;
        for (int64_t slept = 0; slept < sleep_ms && !atomic_load(&w->heartbeat_done); slept += 100) {
            sq_sleep_ms(100);
        }
    }
    /* A clean exit gives the heartbeat up at once: nothing of ours is left to reap. */
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    sq_err err;
    if (sq_pool_redis(&w->pool, c, &err) == 0) {
        redisReply *r = redisCommand(c->redis, "DEL sandq:worker:{%s}:heartbeat", w->cfg.worker_id);
        if (r)
            freeReplyObject(r);
    }
    sq_pool_release(&w->pool, c);
    return NULL;
}

int sq_ownership_start(sq_worker *w, sq_err *err)
{
    if (pthread_create(&w->heartbeat, NULL, ownership_main, w) != 0)
        return sq_err_errno(err, "pthread_create");
    return 0;
}

void sq_ownership_stop(sq_worker *w)
{
    atomic_store(&w->heartbeat_done, true);
    pthread_join(w->heartbeat, NULL);
}
