/* dispatch.h — one Kafka request message in, its effects out: parse, dedupe,
 * ownership, tenant and state checks, then the handler. */
#ifndef SQ_DISPATCH_H
#define SQ_DISPATCH_H

#include "worker.h"

/* Handles one message. Returns -1 only when the effects could not be made
 * durable (a store is down): the caller must not store the offset, so the
 * message is consumed again. */
int sq_dispatch(sq_worker *w, const rd_kafka_message_t *m);

/* Fail every live sandbox (reason given) — used at shutdown. */
void sq_dispatch_fail_all(sq_worker *w, const char *reason, const char *message);

#endif
