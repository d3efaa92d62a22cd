/* test_handover_clock.c — when a revoked partition's sandbox is given up
 * (worker/src/handover_clock.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pipeline/handover_clock.h"

static void owned_is_never_due(void **state)
{
    (void)state;
    assert_false(sq_handover_due(0, 0, 1000000, 20000));
    assert_false(sq_handover_due(0, 5000, 1000000, 20000));
}

static void grace_runs_from_the_group_settling(void **state)
{
    (void)state;
    /* Revoked at 1 s; the group settled (without it) at 26 s: a broker
     * restart took 25 s. Due 20 s after the settling, not after the revoke. */
    assert_false(sq_handover_due(1000, 26000, 30000, 20000));
    assert_false(sq_handover_due(1000, 26000, 46000, 20000));
    assert_true(sq_handover_due(1000, 26000, 46001, 20000));
}

static void unsettled_group_gives_up_after_four_graces(void **state)
{
    (void)state;
    assert_false(sq_handover_due(1000, 0, 21001, 20000)); /* one grace is not enough */
    assert_false(sq_handover_due(1000, 0, 81000, 20000));
    assert_true(sq_handover_due(1000, 0, 81001, 20000));
}

static void zero_grace_hands_over_at_once(void **state)
{
    (void)state;
    assert_true(sq_handover_due(1000, 1000, 1001, 0));
    assert_true(sq_handover_due(1000, 0, 1001, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owned_is_never_due),
        cmocka_unit_test(grace_runs_from_the_group_settling),
        cmocka_unit_test(unsettled_group_gives_up_after_four_graces),
        cmocka_unit_test(zero_grace_hands_over_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
