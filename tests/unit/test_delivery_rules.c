/* test_delivery_rules.c — what a delivery report's error means
 * (pipeline/delivery_rules.h): only a topic that refuses the message for good
 * sets an event aside; a stopping worker or a broken producer holds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pipeline/delivery_rules.h"

static void a_refusing_topic_is_the_messages_fault(void **s)
{
    (void)s;
    rd_kafka_resp_err_t refused[] = {
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,       RD_KAFKA_RESP_ERR__INVALID_ARG,
        RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,    RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,          RD_KAFKA_RESP_ERR_INVALID_RECORD,
        RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal(sq_delivery_outcome_of(refused[i]), SQ_DELIVERY_REFUSED);
}

static void a_stopping_worker_or_a_broken_producer_holds_the_request(void **s)
{
    (void)s;
    assert_int_equal(sq_delivery_outcome_of(RD_KAFKA_RESP_ERR_NO_ERROR), SQ_DELIVERY_OK);
    assert_int_equal(sq_delivery_outcome_of(RD_KAFKA_RESP_ERR__PURGE_QUEUE), SQ_DELIVERY_SHUTDOWN);
    assert_int_equal(sq_delivery_outcome_of(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT), SQ_DELIVERY_SHUTDOWN);
    assert_int_equal(sq_delivery_outcome_of(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), SQ_DELIVERY_SHUTDOWN);
    assert_int_equal(sq_delivery_outcome_of(RD_KAFKA_RESP_ERR__FATAL), SQ_DELIVERY_PRODUCER);
    assert_int_equal(sq_delivery_outcome_of(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER), SQ_DELIVERY_PRODUCER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_refusing_topic_is_the_messages_fault),
        cmocka_unit_test(a_stopping_worker_or_a_broken_producer_holds_the_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
