/* set_aside.c — see set_aside.h. Runs inside the producer's delivery report
 * callback (the producer poller, main.c): it produces without blocking. */
#include "pipeline/set_aside.h"

#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "pipeline/job.h"
#include "sq/log.h"

static void add(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value, (ssize_t)strlen(value));
}

void sq_set_aside(sq_worker *w, const rd_kafka_message_t *m, const sq_job_tally *t)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    sq_job *job = t ? t->job : NULL;
    sq_log_ctx lc = {.sandbox_id = job ? job->req.sandbox_id : NULL, .request_id = job ? job->req.request_id : NULL};
    if (strcmp(topic, w->topic_dlq) == 0) {
        sq_metrics_dlq_delivery_failed();
        sq_error(&lc, "the DLQ %s refused a message for good (%s): it is dropped; it came from %s [%d] @%lld",
                 topic, rd_kafka_err2str(m->err), job ? job->topic : "?", job ? (int)job->partition : -1,
                 job ? (long long)job->offset : -1LL);
        return;
    }
    sq_metrics_event_delivery_failed();
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    char why[512];
    snprintf(why, sizeof why, "the events topic %s refused the event for good: %s", topic, rd_kafka_err2str(m->err));
    add(h, "sandq-dlq-reason", "event_undeliverable");
    add(h, "sandq-error", why);
    add(h, "sandq-kafka-error", rd_kafka_err2name(m->err));
    add(h, "sandq-topic", topic);
    /* Counted against the same job before its refused delivery is settled,
     * so the job never looks settled in between. */
    const sq_job_tally *copy = sq_job_tally_begin(job, SQ_DELIVERY_REQUIRED);
    rd_kafka_resp_err_t rc = rd_kafka_producev(
        w->producer, RD_KAFKA_V_TOPIC(w->topic_dlq), RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE((void *)copy), RD_KAFKA_V_END);
    if (rc) {
        /* No blocking here (this is the thread that frees the queue). */
        rd_kafka_headers_destroy(h);
        sq_metrics_dlq_delivery_failed();
        sq_error(&lc, "%s; could not set it aside in the DLQ either (%s): it is only in PostgreSQL's events", why,
                 rd_kafka_err2str(rc));
        sq_job_tally_done(copy, true);
        return;
    }
    sq_warn(&lc, "%s; set aside in the DLQ %s (sandq-dlq-reason: event_undeliverable)", why, w->topic_dlq);
}
