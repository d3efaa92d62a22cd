/* delivery.h — a delivery report shared between the thread that produced a message
 * and whichever thread runs librdkafka's delivery callback. Reference-counted so a
 * caller that gives up at its deadline can return while the message is in flight. */
#ifndef SQP_DELIVERY_H
#define SQP_DELIVERY_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct sqp_delivery {
    atomic_int refs;      /* 2 while in flight: the producing caller and the callback */
    atomic_bool done;
    rd_kafka_resp_err_t err;
} sqp_delivery;

sqp_delivery *sqp_delivery_new(void);
/* Called by the delivery callback: record the outcome and drop its reference. */
void sqp_delivery_done(void *opaque, rd_kafka_resp_err_t err);
/* Drop the caller's reference. */
void sqp_delivery_release(sqp_delivery *d);

#endif
