/* test_ckpt_rules.c — the pure decisions of checkpoints
 * (worker/src/artifacts/ckpt_rules.h): when the next automatic checkpoint is
 * due, when the actor takes one, how long it sleeps, and which checkpoints
 * retention removes (manual and automatic ones counted apart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "artifacts/ckpt_rules.h"

static void test_next_due(void **state)
{
    (void)state;
    /* Every interval, measured from each start. */
    assert_int_equal(sq_ckpt_auto_next(1000, 1300, 5000), 6000);
    assert_int_equal(sq_ckpt_auto_next(6000, 6001, 5000), 11000);
    /* One that ran past its interval: the next is an interval after it
     * ended, not at once (no back to back, no catching up). */
    assert_int_equal(sq_ckpt_auto_next(1000, 9000, 5000), 14000);
    assert_int_equal(sq_ckpt_auto_next(1000, 6000, 5000), 11000); /* ended just as the next was due */
    assert_int_equal(sq_ckpt_auto_next(1000, 5999, 5000), 6000);
}

static void test_is_due(void **state)
{
    (void)state;
    assert_true(sq_ckpt_auto_is_due(5000, SQ_STATE_READY, false, 6000, 6000));
    assert_true(sq_ckpt_auto_is_due(5000, SQ_STATE_READY, false, 7000, 6000));
    assert_false(sq_ckpt_auto_is_due(5000, SQ_STATE_READY, false, 5999, 6000)); /* not yet */
    assert_false(sq_ckpt_auto_is_due(0, SQ_STATE_READY, false, 7000, 6000));    /* auto off */
    assert_false(sq_ckpt_auto_is_due(5000, SQ_STATE_READY, true, 7000, 6000));  /* a kill is coming */
    /* Never while paused (nothing changes), pausing or ending; a running
     * task (active) ends first. */
    const sq_state not_ready[] = {SQ_STATE_ACTIVE, SQ_STATE_PAUSING, SQ_STATE_PAUSED, SQ_STATE_ENDING,
                                  SQ_STATE_ENDED, SQ_STATE_FAILED, SQ_STATE_NONE};
    for (size_t i = 0; i < sizeof not_ready / sizeof not_ready[0]; i++)
        assert_false(sq_ckpt_auto_is_due(5000, not_ready[i], false, 7000, 6000));
}

static void test_wait(void **state)
{
    (void)state;
    assert_int_equal(sq_ckpt_auto_wait(0, 0, 50, 1000), 1000);      /* off: unchanged */
    assert_int_equal(sq_ckpt_auto_wait(5000, 0, 400, 1000), 400);    /* wakes when due */
    assert_int_equal(sq_ckpt_auto_wait(5000, 0, 4000, 1000), 1000);  /* later than the actor's own wake-up */
    assert_int_equal(sq_ckpt_auto_wait(5000, 100, 50, 1000), 10);    /* overdue: a short wait, never 0 or negative */
    assert_int_equal(sq_ckpt_auto_wait(5000, 0, 400, 200), 200);     /* a shorter wait asked already stays */
}

static void test_retention(void **state)
{
    (void)state;
    /* Newest first: a, m, a, a, m, a, m (a = automatic, m = manual). */
    const bool is_auto[] = {true, false, true, true, false, true, false};
    bool drop[7];
    /* keep 2 manual, 2 automatic: the third automatic and onwards go, the third manual. */
    assert_int_equal(sq_ckpt_retention_pick(is_auto, 7, 2, 2, drop), 3);
    const bool want[] = {false, false, false, true, false, true, true};
    assert_memory_equal(drop, want, sizeof want);
    /* The automatic ones never push a manual one out, nor the other way round. */
    assert_int_equal(sq_ckpt_retention_pick(is_auto, 7, 5, 1, drop), 3);
    const bool want2[] = {false, false, true, true, false, true, false};
    assert_memory_equal(drop, want2, sizeof want2);
    assert_int_equal(sq_ckpt_retention_pick(is_auto, 7, 1, 5, drop), 2);
    const bool want3[] = {false, false, false, false, true, false, true};
    assert_memory_equal(drop, want3, sizeof want3);
    /* Fewer than kept: nothing goes; none at all. */
    assert_int_equal(sq_ckpt_retention_pick(is_auto, 7, 10, 10, drop), 0);
    assert_int_equal(sq_ckpt_retention_pick(is_auto, 0, 1, 1, drop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_due),
        cmocka_unit_test(test_is_due),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_retention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
