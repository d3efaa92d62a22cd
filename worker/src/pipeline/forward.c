/* forward.c — see forward.h. */
#include "pipeline/forward.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "lifecycle/registry.h"
#include "lifecycle/state_machine.h"
#include "metrics.h"
#include "notify/emit.h"
#include "pipeline/completer.h"
#include "pipeline/forward_rules.h"
#include "store/redis_store.h"
#include "sq/log.h"

int sq_forward_topic_create(sq_worker *w, sq_err *err)
{
    char topic[SQ_TOPIC_MAX];
    if (sq_forward_topic(w->cfg.conn.topic_prefix, w->cfg.worker_id, topic, sizeof topic) < 0)
        return sq_err_set(err, SQ_INTERNAL, "forward topic name too long for worker id %s", w->cfg.worker_id);
    char e[256];
    /* One partition: a forward topic carries one worker's share, and one
     * partition keeps every sandbox's order without relying on the key. */
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, -1, e, sizeof e);
    if (!nt)
        return sq_err_set(err, SQ_INTERNAL, "forward topic %s: %s", topic, e);
    rd_kafka_queue_t *q = rd_kafka_queue_new(w->producer);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(w->producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(o, 10000, e, sizeof e);
    rd_kafka_AdminOptions_set_request_timeout(o, 15000, e, sizeof e);
    rd_kafka_CreateTopics(w->producer, &nt, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 0;
    if (!ev) {
        rc = sq_err_set(err, SQ_INTERNAL, "creating forward topic %s: no answer from Kafka", topic);
    } else if (rd_kafka_event_error(ev)) {
        rc = sq_err_set(err, SQ_INTERNAL, "creating forward topic %s: %s", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(res[i]);
            if (te && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                rc = sq_err_set(err, SQ_INTERNAL, "creating forward topic %s: %s", topic,
                                rd_kafka_topic_result_error_string(res[i]));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    if (rc == 0)
        sq_info(NULL, "forward topic %s ready", topic);
    return rc;
}

/* The owner's heartbeat key exists (ownership.h): it still runs. */
static int owner_alive(sq_worker *w, const char *worker_id, bool *alive, sq_err *err)
{
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    int rc = -1;
    if (sq_pool_redis(&w->pool, c, err) == 0) {
        redisReply *r = redisCommand(c->redis, "EXISTS sandq:worker:{%s}:heartbeat", worker_id);
        if (r && r->type == REDIS_REPLY_INTEGER) {
            *alive = r->integer == 1;
            rc = 0;
        } else {
            sq_err_set(err, SQ_INTERNAL, "redis: %s", r ? "unexpected reply" : c->redis->errstr);
            sq_pool_drop_redis(c);
        }
        if (r)
            freeReplyObject(r);
    }
    sq_pool_release(&w->pool, c);
    return rc;
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value, (ssize_t)strlen(value));
}

int sq_forward_maybe(sq_worker *w, sq_job *job, sq_err *err)
{
    const char *prefix = w->cfg.conn.topic_prefix;
    sq_forward_facts f = {.forwarded = sq_forward_is_topic(prefix, job->topic),
                          .is_create = job->req.type == SQ_REQ_SANDBOX_CREATE};
    if (f.forwarded)
        sq_metrics_forward_received();
    if (f.forwarded || f.is_create || !job->req.sandbox_id[0])
        return 0; /* decided without asking anyone */
    pthread_mutex_lock(&w->registry_mu);
    f.hosted_here = sq_registry_get(w, job->req.sandbox_id) != NULL;
    pthread_mutex_unlock(&w->registry_mu);
    if (f.hosted_here)
        return 0;
    sq_redis_sandbox known;
    if (sq_redis_sandbox_lookup(w, job->req.sandbox_id, &known, err) < 0)
        return -1;
    f.record_live = known.state != SQ_STATE_NONE && !sq_state_is_terminal(known.state);
    f.owner_is_self = strcmp(known.worker_id, w->cfg.worker_id) == 0;
    if (f.record_live && !f.owner_is_self && known.worker_id[0] && owner_alive(w, known.worker_id, &f.owner_alive, err) < 0)
        return -1;
    if (sq_forward_decide(&f) == SQ_FORWARD_HERE)
        return 0;

    char topic[SQ_TOPIC_MAX];
    if (sq_forward_topic(prefix, known.worker_id, topic, sizeof topic) < 0)
        return 0; /* cannot name it: answer here (worker_lost), as without forwarding */
    const rd_kafka_message_t *m = job->msg;
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%d", (int)job->partition);
    snprintf(offset, sizeof offset, "%" PRId64, job->offset);
    sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
    /* Nothing of the request is recorded here: not its dedupe key (the host
     * claims it), not a ledger row. Only the copy's delivery is counted
     * against the job, so its offset completes once Kafka has the copy. */
    job->parsed = false;
    job->forwarded_away = true;
    for (int attempt = 0;; attempt++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(4);
        add_header(h, SQ_FWD_HDR_FROM, w->cfg.worker_id);
        add_header(h, SQ_FWD_HDR_TOPIC, job->topic);
        add_header(h, SQ_FWD_HDR_PARTITION, partition);
        add_header(h, SQ_FWD_HDR_OFFSET, offset);
        sq_err perr;
        sq_job_set_current(job);
        int rc = sq_produce(w, topic, m->key, m->key_len, m->payload, m->len, h, &perr);
        sq_job_set_current(NULL);
        if (rc == 0)
            break;
        /* The local queue is full or Kafka is away: this thread is the
         * partition's only dispatcher, so waiting here keeps the order. */
        sq_warn(&lc, "forwarding to %s failed (%s); retrying", topic, perr.msg);
        (void)sq_job_wait_deliveries(job); /* the failed try is not this job's failure: the count starts over */
        if (atomic_load(&w->stopping)) {
            sq_job_abandon(job); /* uncommitted: redone by the partition's next owner */
            return 1;
        }
        sleep(attempt < 5 ? 1 : 2);
    }
    sq_metrics_forwarded();
    sq_debug(&lc, "%s forwarded to %s (worker %s hosts the sandbox)", job->req.type_name, topic, known.worker_id);
    sq_completer_finish_async(job);
    return 1;
}
