/* kafka_conf.h — librdkafka client construction for the worker: the request
 * consumer and the event producer. */
#ifndef SQ_KAFKA_CONF_H
#define SQ_KAFKA_CONF_H

#include "worker.h"

int sq_kafka_producer_new(sq_worker *w, sq_err *err);
/* Joins the consumer group and subscribes to <prefix>.requests and
 * <prefix>.requests.<region>. */
int sq_kafka_consumer_new(sq_worker *w, sq_err *err);
/* Commit what is stored and leave the group. */
void sq_kafka_close_consumer(sq_worker *w);
/* Let go of a consumer librdkafka declared fatal (it is re-created after). */
void sq_kafka_drop_fatal_consumer(sq_worker *w);
/* Shutdown: wait up to timeout_ms for what the producer holds, then purge
 * the rest (no message has a timeout), so every delivery report is served
 * by the producer poller before it stops. */
void sq_kafka_producer_drain(sq_worker *w, int timeout_ms);
/* Both clients; the producer is flushed first. */
void sq_kafka_close(sq_worker *w);

#endif
