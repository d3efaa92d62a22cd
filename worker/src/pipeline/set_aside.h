/* set_aside.h — an event the events topic refuses for good goes to the DLQ.
 *
 * A request is durable once its events are on <prefix>.events (job.h). When
 * that topic will never take one of them (delivery_rules.h: it does not
 * exist, an ACL denies it, the record is larger than the topic takes), waiting
 * would hold the request's offset — and its in-flight slot — until a restart,
 * which would only fail the same way. Instead the event is set aside: the
 * same key and bytes go to <prefix>.dlq with the reason in headers
 * (`sandq-dlq-reason: event_undeliverable`, `sandq-error`, `sandq-kafka-error`,
 * `sandq-topic`), counted (`sandq_event_delivery_failures_total`) and logged,
 * and the request finishes once the DLQ has it. Its history row is in
 * PostgreSQL all the same, so resending the request (same requestId) once the
 * topic takes it again publishes its stored events there (the replay,
 * pipeline/answer.h).
 *
 * A message the DLQ itself refuses for good cannot be set aside anywhere: it
 * is counted (`sandq_dlq_delivery_failures_total`), logged as an error with
 * where it came from, and its request finishes too — holding it would stop
 * nothing from being lost and would stall the partition. */
#ifndef SQ_SET_ASIDE_H
#define SQ_SET_ASIDE_H

#include "worker.h"

struct sq_job_tally;

/* From the delivery report of `m`, refused for good (`m->err`); `t` is its
 * tally (job.h), not settled yet: the caller settles it as delivered after
 * this, so the job waits for the DLQ copy begun here instead. */
void sq_set_aside(sq_worker *w, const rd_kafka_message_t *m, const struct sq_job_tally *t);

#endif
