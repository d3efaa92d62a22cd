/* kafka_conf.c — see kafka_conf.h. */
#include "pipeline/kafka_conf.h"

#include <stdio.h>
#include <string.h>

#include "pipeline/consumer.h"
#include "pipeline/delivery_rules.h"
#include "pipeline/forward_rules.h"
#include "pipeline/job.h"
#include "pipeline/set_aside.h"
#include "metrics.h"
#include "sq/log.h"

int sq_kafka_set(rd_kafka_conf_t *conf, const char *k, const char *v, sq_err *err)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK)
        return sq_err_set(err, SQ_INTERNAL, "kafka config %s=%s: %s", k, v, e);
    return 0;
}

void sq_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sq_log(level <= 3 ? SQ_LOG_ERROR : level <= 4 ? SQ_LOG_WARN : SQ_LOG_DEBUG, NULL, "kafka %s: %s", fac, buf);
}

/* Settles the job that produced the message (its per-message opaque, job.h):
 * a job is durable only once every event it produced to the events topic is
 * acknowledged. A replyTo copy that fails is counted and logged, and its job
 * goes on as if it had been delivered: the event is on the events topic. An
 * event the events topic refuses for good is set aside in the DLQ, and the job
 * waits for that copy instead (set_aside.h); one that failed because this
 * worker is stopping, or because the producer is broken, still holds its job
 * (delivery_rules.h): the request is redone by the partition's next owner. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sq_worker *w = opaque;
    const sq_job_tally *t = m->_private;
    sq_delivery_outcome o = sq_delivery_outcome_of(m->err);
    if (m->err && t && t->kind == SQ_DELIVERY_BEST_EFFORT) {
        sq_metrics_reply_failed();
        sq_warn(NULL, "reply delivery to %s failed (%s); the event is on the events topic only",
                rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    } else if (o == SQ_DELIVERY_REFUSED && sq_forward_is_topic(w->cfg.conn.topic_prefix, rd_kafka_topic_name(m->rkt))) {
        /* Not an event: a forwarded request (pipeline/forward.h). Its
         * offset stays uncompleted; the partition's next owner redoes it. */
        sq_metrics_forward_failed();
        sq_error(NULL, "forward to %s refused for good: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    } else if (o == SQ_DELIVERY_REFUSED) {
        sq_set_aside(w, m, t);
        o = SQ_DELIVERY_OK; /* settled by the DLQ copy, counted against the job by sq_set_aside */
    } else if (m->err) {
        sq_error(NULL, "event delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
    sq_job_tally_done(t, o == SQ_DELIVERY_OK);
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
    if (sq_kafka_set(conf, "bootstrap.servers", w->cfg.conn.kafka_brokers, err) < 0 ||
        sq_kafka_set(conf, "client.id", w->cfg.worker_id, err) < 0 ||
        sq_kafka_set(conf, "partitioner", "murmur2_random", err) < 0 || sq_kafka_set(conf, "acks", "all", err) < 0 ||
        sq_kafka_set(conf, "enable.idempotence", "true", err) < 0 || sq_kafka_set(conf, "linger.ms", linger, err) < 0 ||
        sq_kafka_set(conf, "message.max.bytes", "4000000", err) < 0 || sq_kafka_set(conf, "message.timeout.ms", "0", err) < 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_log_cb(conf, sq_kafka_log_cb);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, w);
    w->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!w->producer)
        return sq_err_set(err, SQ_INTERNAL, "kafka producer: %s", e);
    return 0;
}

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
    sq_consumers_close(w);
    if (w->producer) {
        rd_kafka_flush(w->producer, 10000);
        rd_kafka_destroy(w->producer);
        w->producer = NULL;
    }
}
