/* dispatch.h — one Kafka request message in: parse, DLQ or reject, dedupe,
 * then hand it to its sandbox's actor (or answer it here when no actor runs
 * that sandbox). */
#ifndef SQ_DISPATCH_H
#define SQ_DISPATCH_H

#include "worker.h"

/* Takes ownership of m. Never blocks on a task: long work runs on actors. */
void sq_dispatch(sq_worker *w, rd_kafka_message_t *m);

#endif
