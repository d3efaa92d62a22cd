/* test_backoff.c — the worker's retry schedule (worker/src/util/backoff.c):
 * the sequences the loops that use it had before it existed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/backoff.h"

static void expect_delays(sq_backoff *b, const int64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sq_backoff_next(b), want[i]);
}

static void doubles_up_to_the_cap(void **state)
{
    (void)state;
    /* The actor retrying a job: 200 ms doubling, 30 s at most. */
    sq_backoff b = sq_backoff_make(200, 30000);
    const int64_t want[] = {200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    expect_delays(&b, want, sizeof want / sizeof want[0]);
}

static void cap_between_two_doublings(void **state)
{
    (void)state;
    /* Redis round trips: 50 ms doubling to 2 s; 1600 doubled is capped. */
    sq_backoff b = sq_backoff_make(50, 2000);
    const int64_t want[] = {50, 100, 200, 400, 800, 1600, 2000, 2000};
    expect_delays(&b, want, sizeof want / sizeof want[0]);
}

static void reset_starts_over(void **state)
{
    (void)state;
    sq_backoff b = sq_backoff_make(100, 10000);
    const int64_t first[] = {100, 200, 400};
    expect_delays(&b, first, 3);
    sq_backoff_reset(&b);
    expect_delays(&b, first, 3);
}

static void first_equal_to_cap_never_grows(void **state)
{
    (void)state;
    sq_backoff b = sq_backoff_make(1000, 1000);
    const int64_t want[] = {1000, 1000, 1000};
    expect_delays(&b, want, 3);
}

static void huge_cap_does_not_overflow(void **state)
{
    (void)state;
    sq_backoff b = sq_backoff_make(INT64_MAX / 4 + 1, INT64_MAX);
    assert_int_equal(sq_backoff_next(&b), INT64_MAX / 4 + 1);
    assert_true(sq_backoff_next(&b) > 0);
    assert_int_equal(sq_backoff_next(&b), INT64_MAX);
    assert_int_equal(sq_backoff_next(&b), INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_up_to_the_cap),
        cmocka_unit_test(cap_between_two_doublings),
        cmocka_unit_test(reset_starts_over),
        cmocka_unit_test(first_equal_to_cap_never_grows),
        cmocka_unit_test(huge_cap_does_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
