/* http.h — the worker's HTTP endpoints (libmicrohttpd): /healthz (the process
 * answers), /readyz (Kafka, Redis and PostgreSQL reachable and the consumer
 * group joined) and /metrics (Prometheus text). */
#ifndef SQ_HTTP_H
#define SQ_HTTP_H

#include "worker.h"

/* Starts serving on SANDQ_HTTP_ADDR:SANDQ_HTTP_PORT (port 0 = any free port;
 * the bound port is logged). Returns the port, or -1. */
int sq_http_start(sq_worker *w, sq_err *err);
void sq_http_stop(void);

#endif
