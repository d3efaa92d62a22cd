/* test_lifetime.c — the sandbox deadline calculator (worker/src/lifetime.c):
 * running time as a budget that pauses, the idle clock, setTimeout, and a
 * fresh budget on resume after a timeout pause. Times are made-up epoch ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lifecycle/lifetime.h"

#define T0 1700000000000LL

static void test_no_timeouts_never_due(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 0, 0, T0);
    assert_int_equal(sq_lifetime_deadline(&lt), -1);
    assert_int_equal(sq_lifetime_idle_deadline(&lt), -1);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 365LL * 86400000), SQ_LIFETIME_OK);
}

static void test_lifetime_expires(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 1000, 0, T0);
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 1000);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 999), SQ_LIFETIME_OK);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 1000), SQ_LIFETIME_EXPIRED);
    /* Busy or not, the lifetime runs. */
    sq_lifetime_busy(&lt, T0 + 10);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 1000), SQ_LIFETIME_EXPIRED);
}

static void test_paused_time_does_not_count(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 1000, 0, T0);
    sq_lifetime_pause(&lt, T0 + 400);
    assert_true(sq_lifetime_paused(&lt));
    assert_int_equal(sq_lifetime_used(&lt, T0 + 100000), 400);
    assert_int_equal(sq_lifetime_deadline(&lt), -1);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 100000), SQ_LIFETIME_OK);
    sq_lifetime_resume(&lt, T0 + 10000);
    /* 600 ms of budget left after the pause. */
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 10600);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 10599), SQ_LIFETIME_OK);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 10600), SQ_LIFETIME_EXPIRED);
    /* Pausing twice, resuming twice: no double counting. */
    sq_lifetime_pause(&lt, T0 + 10100);
    sq_lifetime_pause(&lt, T0 + 20000);
    assert_int_equal(sq_lifetime_used(&lt, T0 + 30000), 500);
    sq_lifetime_resume(&lt, T0 + 30000);
    sq_lifetime_resume(&lt, T0 + 40000);
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 30500);
}

static void test_idle_clock(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 0, 500, T0);
    assert_int_equal(sq_lifetime_idle_deadline(&lt), T0 + 500);
    /* A task stops the idle clock, however long it runs. */
    sq_lifetime_busy(&lt, T0 + 100);
    assert_int_equal(sq_lifetime_idle_deadline(&lt), -1);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 5000), SQ_LIFETIME_OK);
    /* It restarts when the task ends. */
    sq_lifetime_idle(&lt, T0 + 5000);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 5499), SQ_LIFETIME_OK);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 5500), SQ_LIFETIME_IDLE);
    /* Paused: not idle; resume restarts the idle clock. */
    sq_lifetime_pause(&lt, T0 + 5100);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 99999), SQ_LIFETIME_OK);
    sq_lifetime_idle(&lt, T0 + 6000); /* ignored while paused */
    assert_int_equal(sq_lifetime_idle_deadline(&lt), -1);
    sq_lifetime_resume(&lt, T0 + 100000);
    assert_int_equal(sq_lifetime_idle_deadline(&lt), T0 + 100500);
}

static void test_lifetime_before_idle(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 300, 300, T0);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 300), SQ_LIFETIME_EXPIRED);
}

static void test_next_deadline(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 0, 0, T0);
    assert_int_equal(sq_lifetime_next_deadline(&lt), -1);
    sq_lifetime_start(&lt, 5000, 0, T0);
    assert_int_equal(sq_lifetime_next_deadline(&lt), T0 + 5000);
    sq_lifetime_start(&lt, 0, 700, T0);
    assert_int_equal(sq_lifetime_next_deadline(&lt), T0 + 700);
    sq_lifetime_start(&lt, 5000, 700, T0);
    assert_int_equal(sq_lifetime_next_deadline(&lt), T0 + 700);
    sq_lifetime_busy(&lt, T0 + 100); /* a task runs: only the lifetime is left */
    assert_int_equal(sq_lifetime_next_deadline(&lt), T0 + 5000);
    sq_lifetime_pause(&lt, T0 + 200);
    assert_int_equal(sq_lifetime_next_deadline(&lt), -1);
}

static void test_set_timeout_counts_from_now(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 1000, 0, T0);
    sq_lifetime_set_timeout(&lt, 5000, T0 + 800);
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 5800);
    /* Shorter than what is left also works: it ends sooner. */
    sq_lifetime_set_timeout(&lt, 100, T0 + 1000);
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 1100);
    /* While paused: the new budget starts counting at resume. */
    sq_lifetime_pause(&lt, T0 + 1050);
    sq_lifetime_set_timeout(&lt, 2000, T0 + 9000);
    assert_int_equal(sq_lifetime_deadline(&lt), -1);
    sq_lifetime_resume(&lt, T0 + 10000);
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 12000);
}

static void test_resume_after_timeout_pause_gets_fresh_budget(void **state)
{
    (void)state;
    sq_lifetime lt;
    sq_lifetime_start(&lt, 1000, 0, T0);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 1200), SQ_LIFETIME_EXPIRED);
    sq_lifetime_pause(&lt, T0 + 1200); /* onTimeout: pause */
    sq_lifetime_resume(&lt, T0 + 50000);
    assert_int_equal(sq_lifetime_check(&lt, T0 + 50000), SQ_LIFETIME_OK);
    assert_int_equal(sq_lifetime_deadline(&lt), T0 + 51000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_timeouts_never_due),
        cmocka_unit_test(test_lifetime_expires),
        cmocka_unit_test(test_paused_time_does_not_count),
        cmocka_unit_test(test_idle_clock),
        cmocka_unit_test(test_lifetime_before_idle),
        cmocka_unit_test(test_next_deadline),
        cmocka_unit_test(test_set_timeout_counts_from_now),
        cmocka_unit_test(test_resume_after_timeout_pause_gets_fresh_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
