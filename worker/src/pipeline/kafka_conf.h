/* kafka_conf.h — the worker's event producer (librdkafka) and its delivery
 * reports. The request consumers are pipeline/consumer.h. */
#ifndef SQ_KAFKA_CONF_H
#define SQ_KAFKA_CONF_H

#include "worker.h"

/* Shared by every librdkafka client of the worker: a config setting (err
 * says which one failed), and librdkafka's log lines into ours. */
int sq_kafka_set(rd_kafka_conf_t *conf, const char *k, const char *v, sq_err *err);
void sq_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

int sq_kafka_producer_new(sq_worker *w, sq_err *err);
/* Shutdown: wait up to timeout_ms for what the producer holds, then purge
 * the rest (no message has a timeout), so every delivery report is served
 * by the producer poller before it stops. */
void sq_kafka_producer_drain(sq_worker *w, int timeout_ms);
/* The consumers (if still open), then the producer, flushed first. */
void sq_kafka_close(sq_worker *w);

#endif
