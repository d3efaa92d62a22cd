/* delivery_rules.h — what a failed delivery report means (pure).
 *
 * The producer has no message timeout (message.timeout.ms=0, kafka_conf.c):
 * librdkafka retries every error it can retry — a broker away, a leader
 * moving, a topic being created — until the broker takes the message. So a
 * delivery report that still carries an error says one of three things: the
 * worker itself is stopping (it purged what it held), the producer is broken
 * (a fatal idempotence error: every message fails, whatever its topic), or
 * this message can never be written there: the topic refuses it for good (it
 * does not exist and is not created, an ACL denies it, the record is larger
 * than the topic takes, the topic is internal). Only the last is the
 * message's own fault; kafka_conf.c sets such an event aside in the DLQ and
 * lets its request finish (pipeline/set_aside.h). */
#ifndef SQ_DELIVERY_RULES_H
#define SQ_DELIVERY_RULES_H

#include <librdkafka/rdkafka.h>

typedef enum {
    SQ_DELIVERY_OK,
    SQ_DELIVERY_SHUTDOWN,  /* purged or destroyed by this worker: the request is redone by the next owner */
    SQ_DELIVERY_PRODUCER,  /* the producer is broken, not the message: hold the request */
    SQ_DELIVERY_REFUSED,   /* the topic will never take this message */
} sq_delivery_outcome;

sq_delivery_outcome sq_delivery_outcome_of(rd_kafka_resp_err_t err);

#endif
