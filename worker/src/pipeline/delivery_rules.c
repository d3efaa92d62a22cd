/* delivery_rules.c — see delivery_rules.h. */
#include "pipeline/delivery_rules.h"

sq_delivery_outcome sq_delivery_outcome_of(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return SQ_DELIVERY_OK;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__DESTROY:
    /* Not with message.timeout.ms=0; should that ever change, a timeout is
     * an outage, not the message's fault. */
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
        return SQ_DELIVERY_SHUTDOWN;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return SQ_DELIVERY_PRODUCER;
    default:
        /* Everything else reaching a delivery report is an error librdkafka
         * does not retry: UNKNOWN_TOPIC_OR_PART / _UNKNOWN_TOPIC, TOPIC_AUTHORIZATION_FAILED,
         * MSG_SIZE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD, TOPIC_EXCEPTION,
         * POLICY_VIOLATION, _INVALID_ARG, ... */
        return SQ_DELIVERY_REFUSED;
    }
}
