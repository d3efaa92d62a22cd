/* test_webhook_schedule.c — the retry schedule (webhook_schedule.h): the
 * default delays, jitter bounds, Retry-After, the end of the schedule, and
 * the test-time override's parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "webhook_schedule.h"

#define S 1000LL
#define M (60 * S)
#define H (60 * M)

static void test_default_schedule(void **state)
{
    (void)state;
    sq_wh_schedule s;
    sq_wh_schedule_default(&s);
    const int64_t want[] = {0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H};
    assert_int_equal(s.n, 8);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(s.delay_ms[i], want[i]);
    /* Jitter stays within ±10 % and spans it. */
    uint32_t rnds[] = {0, 1u << 31, 0xffffffffu};
    for (int a = 1; a < 8; a++) {
        for (size_t r = 0; r < 3; r++) {
            int64_t d = sq_wh_next_delay_ms(&s, a, -1, rnds[r]);
            assert_true(d >= want[a] - want[a] / 10);
            assert_true(d <= want[a] + want[a] / 10);
        }
        assert_int_equal(sq_wh_next_delay_ms(&s, a, -1, 0), want[a] - want[a] / 10);
        assert_int_equal(sq_wh_next_delay_ms(&s, a, -1, 1u << 31), want[a]);
    }
    /* After the 8th failed attempt nothing is left: the delivery fails. */
    assert_int_equal(sq_wh_next_delay_ms(&s, 8, -1, 0), -1);
    assert_int_equal(sq_wh_next_delay_ms(&s, 9, -1, 0), -1);
    assert_int_equal(sq_wh_next_delay_ms(&s, -1, -1, 0), -1);
}

static void test_retry_after(void **state)
{
    (void)state;
    sq_wh_schedule s;
    sq_wh_schedule_default(&s);
    /* Later than the schedule: honoured. Earlier: the schedule wins. */
    assert_int_equal(sq_wh_next_delay_ms(&s, 1, 60 * S, 1u << 31), 60 * S);
    assert_int_equal(sq_wh_next_delay_ms(&s, 2, 60 * S, 1u << 31), 5 * M);
    /* Capped at a day. */
    assert_int_equal(sq_wh_next_delay_ms(&s, 1, 30 * 24 * H, 0), SQ_WH_RETRY_AFTER_MAX_MS);
    /* Header parsing: delta-seconds and IMF-fixdate. */
    int64_t now = 1445412480000LL; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(sq_wh_retry_after_ms("120", now), 120 * S);
    assert_int_equal(sq_wh_retry_after_ms(" 7\r\n", now), 7 * S);
    assert_int_equal(sq_wh_retry_after_ms("Wed, 21 Oct 2015 07:29:00 GMT", now), 60 * S);
    assert_int_equal(sq_wh_retry_after_ms("Wed, 21 Oct 2015 07:00:00 GMT\r\n", now), 0);
    assert_int_equal(sq_wh_retry_after_ms("soon", now), -1);
    assert_int_equal(sq_wh_retry_after_ms("12abc", now), -1);
    assert_int_equal(sq_wh_retry_after_ms(NULL, now), -1);
    assert_int_equal(sq_wh_retry_after_ms("99999999999", now), SQ_WH_RETRY_AFTER_MAX_MS);
}

static void test_parse(void **state)
{
    (void)state;
    sq_wh_schedule s;
    sq_err err;
    assert_int_equal(sq_wh_schedule_parse("0,5s,5m,30m,2h,5h,10h,10h", &s, &err), 0);
    sq_wh_schedule d;
    sq_wh_schedule_default(&d);
    assert_int_equal(s.n, d.n);
    assert_memory_equal(s.delay_ms, d.delay_ms, sizeof d.delay_ms);
    assert_int_equal(sq_wh_schedule_parse("0, 200ms, 1s,250", &s, &err), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.delay_ms[1], 200);
    assert_int_equal(s.delay_ms[2], 1000);
    assert_int_equal(s.delay_ms[3], 250);
    /* Three attempts: two retries, then failed. */
    assert_int_equal(sq_wh_schedule_parse("0,100ms,100ms", &s, &err), 0);
    assert_true(sq_wh_next_delay_ms(&s, 2, -1, 0) >= 90);
    assert_int_equal(sq_wh_next_delay_ms(&s, 3, -1, 0), -1);
    assert_int_equal(sq_wh_schedule_parse("", &s, &err), -1);
    assert_int_equal(sq_wh_schedule_parse("0,,5s", &s, &err), -1);
    assert_int_equal(sq_wh_schedule_parse("0,5d", &s, &err), -1);
    assert_int_equal(sq_wh_schedule_parse("-1", &s, &err), -1);
    assert_int_equal(sq_wh_schedule_parse("0,1000h", &s, &err), -1);
    assert_int_equal(sq_wh_schedule_parse("0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", &s, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_schedule),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
