/* kafka_conf.c — see kafka_conf.h. */
#include "pipeline/kafka_conf.h"

#include <stdio.h>
#include <string.h>

#include "pipeline/job.h"
#include "pipeline/ownership.h"
#include "metrics.h"
#include "sq/log.h"

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, sq_err *err)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK)
        return sq_err_set(err, SQ_INTERNAL, "kafka config %s=%s: %s", k, v, e);
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sq_log(level <= 3 ? SQ_LOG_ERROR : level <= 4 ? SQ_LOG_WARN : SQ_LOG_DEBUG, NULL, "kafka %s: %s", fac, buf);
}

/* Settles the job that produced the message (its per-message opaque, job.h):
 * a job is durable only once every event it produced to the events topic is
 * acknowledged. A replyTo copy that fails is counted and logged, and its job
 * goes on as if it had been delivered: the event is on the events topic. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    const sq_job_tally *t = m->_private;
    if (m->err && t && t->kind == SQ_DELIVERY_BEST_EFFORT) {
        sq_metrics_reply_failed();
        sq_warn(NULL, "reply delivery to %s failed (%s); the event is on the events topic only",
                rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    } else if (m->err) {
        sq_error(NULL, "event delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
    sq_job_tally_done(t, m->err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Cooperative-sticky: only partitions that actually move are revoked, so a
 * worker joining or leaving does not disturb every sandbox. A revoked
 * partition's in-flight offsets are forgotten (a completion after the revoke
 * must not move an offset we no longer own) and its sandboxes handed over. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    sq_worker *w = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        atomic_store(&w->consumer_assigned, true);
        sq_info(NULL, "assigned %d partitions", parts->cnt);
        sq_ownership_assigned(w, parts);
        if (cooperative) {
            rd_kafka_error_t *err = rd_kafka_incremental_assign(rk, parts);
            if (err) {
                sq_error(NULL, "incremental assign: %s", rd_kafka_error_string(err));
                rd_kafka_error_destroy(err);
            }
        } else {
            rd_kafka_assign(rk, parts);
        }
        pthread_mutex_lock(&w->offsets_mu);
        bool paused = w->partitions_paused;
        pthread_mutex_unlock(&w->offsets_mu);
        if (paused) /* back-pressure applies to new partitions too */
            rd_kafka_pause_partitions(rk, parts);
        return;
    }
    sq_info(NULL, "revoked %d partitions", parts->cnt);
    rd_kafka_commit(rk, NULL, 0); /* what is stored is still ours to commit */
    pthread_mutex_lock(&w->offsets_mu);
    for (int i = 0; i < parts->cnt; i++)
        sq_offsets_revoke(w->offsets, parts->elems[i].topic, parts->elems[i].partition);
    pthread_mutex_unlock(&w->offsets_mu);
    sq_ownership_revoked(w, parts);
    if (cooperative) {
        rd_kafka_error_t *err = rd_kafka_incremental_unassign(rk, parts);
        if (err)
            rd_kafka_error_destroy(err);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

int sq_kafka_producer_new(sq_worker *w, sq_err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char linger[24];
    snprintf(linger, sizeof linger, "%lld", (long long)w->cfg.linger_ms);
    char e[512];
    /* murmur2_random is the Java client's partitioner: every client maps a
     * sandbox id to the same events partition, so waiters read one partition.
     * linger.ms (SANDQ_LINGER_MS): no job waits for its acknowledgements on
     * its actor (completer.h), so batching longer costs events a few ms of
     * latency but no throughput, and saves produce requests: CPU in this
     * process and in the broker.
     * message.timeout.ms=0 (no timeout; librdkafka's default is 300 s): a
     * Kafka outage only delays an event, it never fails it — a failed event
     * would leave its request's offset, and its in-flight slot, held until a
     * restart. librdkafka retries until the broker is back; shutdown purges
     * what is left (sq_kafka_producer_drain). */
    if (set(conf, "bootstrap.servers", w->cfg.conn.kafka_brokers, err) < 0 ||
        set(conf, "client.id", w->cfg.worker_id, err) < 0 ||
        set(conf, "partitioner", "murmur2_random", err) < 0 || set(conf, "acks", "all", err) < 0 ||
        set(conf, "enable.idempotence", "true", err) < 0 || set(conf, "linger.ms", linger, err) < 0 ||
        set(conf, "message.max.bytes", "4000000", err) < 0 || set(conf, "message.timeout.ms", "0", err) < 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!w->producer)
        return sq_err_set(err, SQ_INTERNAL, "kafka producer: %s", e);
    return 0;
}

int sq_kafka_consumer_new(sq_worker *w, sq_err *err)
{
    atomic_store(&w->consumer_assigned, false);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char session_timeout[24];
    snprintf(session_timeout, sizeof session_timeout, "%lld", (long long)w->cfg.session_timeout_ms);
    char e[512];
    /* Offsets are stored by hand only after a request's effects are durable
     * (enable.auto.offset.store=false); the background auto-commit then commits
     * what was stored. A crash replays unfinished requests; dedupe by
     * requestId makes the replay harmless. */
    if (set(conf, "bootstrap.servers", w->cfg.conn.kafka_brokers, err) < 0 ||
        set(conf, "client.id", w->cfg.worker_id, err) < 0 || set(conf, "group.id", w->cfg.group_id, err) < 0 ||
        set(conf, "enable.auto.offset.store", "false", err) < 0 || set(conf, "enable.auto.commit", "true", err) < 0 ||
        set(conf, "auto.commit.interval.ms", "1000", err) < 0 ||
        set(conf, "auto.offset.reset", "earliest", err) < 0 || set(conf, "session.timeout.ms", session_timeout, err) < 0 ||
        set(conf, "heartbeat.interval.ms", "1000", err) < 0 ||
        set(conf, "topic.metadata.refresh.interval.ms", "10000", err) < 0 ||
        set(conf, "partition.assignment.strategy", "cooperative-sticky", err) < 0 ||
        /* Prefetch at most 16 MiB (default 64 MiB): work waits in Kafka, not
         * in this process, and memory stays bounded under a backlog. */
        set(conf, "queued.max.messages.kbytes", "16384", err) < 0 ||
        (w->cfg.static_membership && set(conf, "group.instance.id", w->cfg.worker_id, err) < 0) ||
        /* A partition resumed after SANDQ_PARTITION_INFLIGHT held it is only
         * fetched again by the next fetch request, which waits behind the
         * broker's long poll (fetch.wait.max.ms, 500 by default). */
        (w->cfg.partition_inflight > 0 && set(conf, "fetch.wait.max.ms", "5", err) < 0)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, w);
    w->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!w->consumer)
        return sq_err_set(err, SQ_INTERNAL, "kafka consumer: %s", e);
    rd_kafka_poll_set_consumer(w->consumer);

    char global[SQ_TOPIC_MAX], regional[SQ_TOPIC_MAX];
    sq_topic_requests(w->cfg.conn.topic_prefix, NULL, global);
    sq_topic_requests(w->cfg.conn.topic_prefix, w->cfg.region, regional);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, global, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, regional, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rc = rd_kafka_subscribe(w->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (rc)
        return sq_err_set(err, SQ_INTERNAL, "kafka subscribe: %s", rd_kafka_err2str(rc));
    sq_info(NULL, "subscribed to %s and %s as group %s", global, regional, w->cfg.group_id);
    return 0;
}

/* librdkafka before 2.3 (Debian's is 2.0.2) aborts when a cooperative-sticky
 * consumer that never received an assignment is destroyed: its assignor state
 * is still NULL and rd_kafka_sticky_assignor_state_destroy asserts on it
 * (librdkafka issue #4312). That happens when a consumer re-created after a
 * fence (a broker restart, static membership) is fenced again before its
 * first assignment. Such a handle is parked instead: fatal, it consumes
 * nothing; it costs its memory and threads until exit. */
static void discard_consumer(sq_worker *w, bool leave_group)
{
    if (!w->consumer)
        return;
    if (!atomic_load(&w->consumer_assigned)) {
        for (size_t i = 0; i < sizeof w->parked_consumers / sizeof *w->parked_consumers; i++)
            if (!w->parked_consumers[i]) {
                sq_warn(NULL, "kafka consumer had no assignment yet: parked, not destroyed (librdkafka #4312)");
                w->parked_consumers[i] = w->consumer;
                w->consumer = NULL;
                return;
            }
    }
    if (leave_group) {
        rd_kafka_commit(w->consumer, NULL, 0);
        rd_kafka_consumer_close(w->consumer); /* leaves the group */
    }
    rd_kafka_destroy(w->consumer);
    w->consumer = NULL;
}

void sq_kafka_close_consumer(sq_worker *w) { discard_consumer(w, true); }

void sq_kafka_drop_fatal_consumer(sq_worker *w) { discard_consumer(w, false); }

void sq_kafka_producer_drain(sq_worker *w, int timeout_ms)
{
    if (!w->producer)
        return;
    rd_kafka_flush(w->producer, timeout_ms);
    int left = rd_kafka_outq_len(w->producer);
    if (left > 0) {
        /* Kafka is away and the messages have no timeout: fail them now, so
         * their delivery reports come (to the producer poller) and no job is
         * held by librdkafka past this point. Their requests stay
         * uncommitted and are redone by the partition's next owner. */
        sq_warn(NULL, "%d messages still undelivered at shutdown; purged, their requests will be redone", left);
        rd_kafka_purge(w->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
}

void sq_kafka_close(sq_worker *w)
{
    sq_kafka_close_consumer(w);
    if (w->producer) {
        rd_kafka_flush(w->producer, 10000);
        rd_kafka_destroy(w->producer);
        w->producer = NULL;
    }
}
