/* test_seqset.c — producer/src/seqset.c: the per-sandbox record of applied event
 * seqs that lets a consumer drop duplicates and replays without keeping eventIds.
 * Checked against a plain bitmap model over random orders, plus the shapes a
 * replay actually produces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seqset.h"

static void test_in_order_is_one_number(void **state)
{
    (void)state;
    sqp_seqset s = SQP_SEQSET_INIT;
    for (int64_t q = 1; q <= 1000; q++)
        assert_int_equal(sqp_seqset_add(&s, q), 1);
    assert_int_equal(sqp_seqset_prefix(&s), 1000);
    assert_int_equal(sqp_seqset_max(&s), 1000);
    assert_int_equal(s.n, 0);
    assert_null(s.runs); /* nothing allocated for a stream read in order */
    for (int64_t q = 1; q <= 1000; q += 97)
        assert_int_equal(sqp_seqset_add(&s, q), 0);
    sqp_seqset_clear(&s);
}

static void test_replay_after_newer_events(void **state)
{
    (void)state;
    /* A consumer that started mid-stream saw 40..45; then a duplicate create is
     * answered with 1..4 again, then the rest is filled. */
    sqp_seqset s = SQP_SEQSET_INIT;
    for (int64_t q = 40; q <= 45; q++)
        assert_int_equal(sqp_seqset_add(&s, q), 1);
    assert_int_equal(sqp_seqset_prefix(&s), 0);
    assert_int_equal(sqp_seqset_max(&s), 45);
    for (int64_t q = 1; q <= 4; q++)
        assert_int_equal(sqp_seqset_add(&s, q), 1);
    assert_int_equal(sqp_seqset_prefix(&s), 4);
    assert_int_equal(s.n, 1);
    assert_true(sqp_seqset_has(&s, 42));
    assert_false(sqp_seqset_has(&s, 5));
    assert_false(sqp_seqset_has(&s, 39));
    assert_false(sqp_seqset_has(&s, 46));
    assert_false(sqp_seqset_has(&s, 0));
    /* the same replay again changes nothing */
    for (int64_t q = 1; q <= 4; q++)
        assert_int_equal(sqp_seqset_add(&s, q), 0);
    for (int64_t q = 5; q <= 39; q++)
        assert_int_equal(sqp_seqset_add(&s, q), 1);
    assert_int_equal(sqp_seqset_prefix(&s), 45);
    assert_int_equal(s.n, 0);
    sqp_seqset_clear(&s);
}

static void test_seq_zero_is_never_a_duplicate(void **state)
{
    (void)state;
    sqp_seqset s = SQP_SEQSET_INIT;
    assert_int_equal(sqp_seqset_add(&s, 0), 1);
    assert_int_equal(sqp_seqset_add(&s, 0), 1);
    assert_int_equal(sqp_seqset_add(&s, -3), 1);
    assert_int_equal(sqp_seqset_prefix(&s), 0);
    assert_int_equal(sqp_seqset_max(&s), 0);
    sqp_seqset_clear(&s);
}

static void test_runs_merge_from_both_sides(void **state)
{
    (void)state;
    sqp_seqset s = SQP_SEQSET_INIT;
    assert_int_equal(sqp_seqset_add(&s, 10), 1);
    assert_int_equal(sqp_seqset_add(&s, 12), 1);
    assert_int_equal(sqp_seqset_add(&s, 20), 1);
    assert_int_equal(s.n, 3);
    assert_int_equal(sqp_seqset_add(&s, 11), 1); /* joins 10 and 12 */
    assert_int_equal(s.n, 2);
    assert_int_equal(sqp_seqset_add(&s, 19), 1); /* extends 20 downwards */
    assert_int_equal(sqp_seqset_add(&s, 13), 1); /* extends 10..12 upwards */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.runs[0][0], 10);
    assert_int_equal(s.runs[0][1], 13);
    assert_int_equal(s.runs[1][0], 19);
    assert_int_equal(s.runs[1][1], 20);
    for (int64_t q = 1; q <= 9; q++)
        assert_int_equal(sqp_seqset_add(&s, q), 1);
    assert_int_equal(sqp_seqset_prefix(&s), 13); /* 1..9 then the run 10..13 */
    assert_int_equal(sqp_seqset_max(&s), 20);
    sqp_seqset_clear(&s);
}

static void test_fragmentation_is_bounded(void **state)
{
    (void)state;
    sqp_seqset s = SQP_SEQSET_INIT;
    /* every other seq: each one a run of its own */
    int64_t q = 2;
    for (int i = 0; i < SQP_SEQSET_MAX_RUNS; i++, q += 2)
        assert_int_equal(sqp_seqset_add(&s, q), 1);
    assert_int_equal(s.n, SQP_SEQSET_MAX_RUNS);
    assert_int_equal(sqp_seqset_add(&s, q), -1);    /* new, but not remembered */
    assert_false(sqp_seqset_has(&s, q));
    assert_int_equal(sqp_seqset_add(&s, q - 1), 1); /* touches a run: still fine */
    assert_int_equal(sqp_seqset_add(&s, 4), 0);
    assert_int_equal(sqp_seqset_add(&s, 1), 1);     /* fills a hole: 1..2 */
    assert_int_equal(sqp_seqset_prefix(&s), 2);
    assert_int_equal(s.n, SQP_SEQSET_MAX_RUNS - 1);
    sqp_seqset_clear(&s);
    assert_int_equal(s.n, 0);
    assert_int_equal(sqp_seqset_add(&s, 1), 1); /* usable after clear */
    sqp_seqset_clear(&s);
}

/* Random orders with duplicates against a bitmap. */
static void test_matches_a_bitmap(void **state)
{
    (void)state;
    enum { N = 300 };
    srand(4242);
    for (int round = 0; round < 200; round++) {
        bool model[N + 2] = {false};
        sqp_seqset s = SQP_SEQSET_INIT;
        for (int k = 0; k < 3 * N; k++) {
            int64_t q = 1 + rand() % N;
            int r = sqp_seqset_add(&s, q);
            assert_int_equal(r, model[q] ? 0 : 1);
            model[q] = true;
            int64_t prefix = 0, max = 0;
            while (prefix < N && model[prefix + 1])
                prefix++;
            for (int64_t i = 1; i <= N; i++)
                if (model[i])
                    max = i;
            assert_int_equal(sqp_seqset_prefix(&s), prefix);
            assert_int_equal(sqp_seqset_max(&s), max);
            /* the runs are sorted, above prefix + 1, and never touch */
            for (uint32_t i = 0; i < s.n; i++) {
                assert_true(s.runs[i][0] <= s.runs[i][1]);
                assert_true(s.runs[i][0] > (i ? s.runs[i - 1][1] + 1 : sqp_seqset_prefix(&s) + 1));
            }
        }
        for (int64_t q = 1; q <= N; q++)
            assert_int_equal(sqp_seqset_has(&s, q), model[q]);
        sqp_seqset_clear(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_is_one_number),
        cmocka_unit_test(test_replay_after_newer_events),
        cmocka_unit_test(test_seq_zero_is_never_a_duplicate),
        cmocka_unit_test(test_runs_merge_from_both_sides),
        cmocka_unit_test(test_fragmentation_is_bounded),
        cmocka_unit_test(test_matches_a_bitmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
