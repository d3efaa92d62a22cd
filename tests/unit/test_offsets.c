/* test_offsets.c — the offset tracker: only the lowest unfinished offset (or
 * one past the last seen) is ever offered for commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/offsets.h"

static int64_t take_one(sq_offsets *t, const char *topic, int32_t part)
{
    sq_offset_commit c[8];
    size_t n = sq_offsets_take_committable(t, NULL, c, 8);
    for (size_t i = 0; i < n; i++)
        if (c[i].partition == part && strcmp(c[i].topic, topic) == 0)
            return c[i].offset;
    return -2; /* nothing new to commit */
}

static void in_order_completion_commits_one_past(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    for (int64_t o = 0; o < 3; o++)
        assert_int_equal(sq_offsets_arrive(t, "r", 0, o), 1);
    assert_int_equal(take_one(t, "r", 0), 0); /* nothing done: commit 0 (= the first unfinished) */
    sq_offsets_complete(t, "r", 0, 0);
    assert_int_equal(take_one(t, "r", 0), 1);
    sq_offsets_complete(t, "r", 0, 1);
    sq_offsets_complete(t, "r", 0, 2);
    assert_int_equal(take_one(t, "r", 0), 3);
    assert_int_equal(take_one(t, "r", 0), -2); /* reported once */
    assert_int_equal(sq_offsets_inflight(t), 0);
    sq_offsets_free(t);
}

static void out_of_order_completion_waits_for_the_lowest(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    for (int64_t o = 10; o < 15; o++)
        sq_offsets_arrive(t, "r", 3, o);
    take_one(t, "r", 3);
    sq_offsets_complete(t, "r", 3, 12);
    sq_offsets_complete(t, "r", 3, 14);
    assert_int_equal(take_one(t, "r", 3), -2); /* 10 still running: nothing advances */
    sq_offsets_complete(t, "r", 3, 10);
    assert_int_equal(take_one(t, "r", 3), 11);
    sq_offsets_complete(t, "r", 3, 11);
    assert_int_equal(take_one(t, "r", 3), 13); /* 12 was done already */
    sq_offsets_complete(t, "r", 3, 13);
    assert_int_equal(take_one(t, "r", 3), 15);
    assert_int_equal(sq_offsets_inflight(t), 0);
    sq_offsets_free(t);
}

static void gaps_in_offsets_are_skipped(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    sq_offsets_arrive(t, "r", 0, 5);
    sq_offsets_arrive(t, "r", 0, 9); /* 6-8 never arrive (compaction, markers) */
    sq_offsets_complete(t, "r", 0, 5);
    assert_int_equal(take_one(t, "r", 0), 9);
    sq_offsets_complete(t, "r", 0, 9);
    assert_int_equal(take_one(t, "r", 0), 10);
    sq_offsets_free(t);
}

static void redelivery_and_unknown_completions_are_ignored(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    sq_offsets_arrive(t, "r", 0, 1);
    assert_int_equal(sq_offsets_arrive(t, "r", 0, 1), 0); /* seen already */
    assert_int_equal(sq_offsets_arrive(t, "r", 0, 0), 0); /* below: a seek back */
    sq_offsets_complete(t, "r", 0, 7);                     /* never arrived */
    sq_offsets_complete(t, "r", 1, 1);                     /* other partition */
    assert_int_equal(sq_offsets_inflight(t), 1);
    sq_offsets_complete(t, "r", 0, 1);
    sq_offsets_complete(t, "r", 0, 1); /* twice */
    assert_int_equal(sq_offsets_inflight(t), 0);
    assert_int_equal(take_one(t, "r", 0), 2);
    sq_offsets_free(t);
}

static void revoke_mid_flight_forgets_the_partition(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    sq_offsets_arrive(t, "r", 0, 1);
    sq_offsets_arrive(t, "r", 0, 2);
    sq_offsets_arrive(t, "r", 1, 7);
    take_one(t, "r", 0);
    take_one(t, "r", 1);
    sq_offsets_revoke(t, "r", 0);
    assert_int_equal(sq_offsets_inflight(t), 1);
    sq_offsets_complete(t, "r", 0, 1); /* a task that finishes after the revoke */
    sq_offset_commit c[4];
    assert_int_equal(sq_offsets_take_committable(t, NULL, c, 4), 0); /* nothing for the revoked partition */
    /* Re-assigned later: starts fresh, from whatever offset the group had. */
    assert_int_equal(sq_offsets_arrive(t, "r", 0, 1), 1);
    sq_offsets_complete(t, "r", 0, 1);
    assert_int_equal(take_one(t, "r", 0), 2);
    sq_offsets_free(t);
}

static void topics_and_partitions_are_independent_and_the_ring_grows(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    for (int64_t o = 0; o < 1000; o++) {
        sq_offsets_arrive(t, "a", 0, o);
        sq_offsets_arrive(t, "b", 0, o);
    }
    assert_int_equal(sq_offsets_inflight(t), 2000);
    for (int64_t o = 999; o >= 1; o--) /* complete newest first: nothing advances */
        sq_offsets_complete(t, "a", 0, o);
    take_one(t, "a", 0);
    sq_offsets_complete(t, "a", 0, 0);
    assert_int_equal(take_one(t, "a", 0), 1000);
    assert_int_equal(sq_offsets_inflight(t), 1000);
    sq_offsets_free(t);
}

static void the_per_partition_bound_holds_and_releases_each_partition(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    sq_offset_commit hold[4], rel[4];
    size_t nh, nr;
    sq_offsets_arrive(t, "r", 0, 10);
    sq_offsets_arrive(t, "r", 1, 20);
    sq_offsets_arrive(t, "r", 1, 21);
    sq_offsets_holds(t, NULL, 2, hold, &nh, rel, &nr, 4);
    assert_int_equal(nh, 1); /* only partition 1 has 2 open */
    assert_int_equal(hold[0].partition, 1);
    assert_int_equal(nr, 0);
    sq_offsets_holds(t, NULL, 2, hold, &nh, rel, &nr, 4);
    assert_int_equal(nh + nr, 0); /* already held: no change to report */
    sq_offsets_complete(t, "r", 1, 21); /* out of order still counts as one fewer open */
    sq_offsets_arrive(t, "r", 0, 11);
    sq_offsets_holds(t, NULL, 2, hold, &nh, rel, &nr, 4);
    assert_int_equal(nh, 1);
    assert_int_equal(hold[0].partition, 0);
    assert_int_equal(nr, 1);
    assert_int_equal(rel[0].partition, 1);
    sq_offsets_revoke(t, "r", 0); /* forgotten while held: nothing to release later */
    sq_offsets_complete(t, "r", 0, 10);
    sq_offsets_holds(t, NULL, 2, hold, &nh, rel, &nr, 4);
    assert_int_equal(nh + nr, 0);
    sq_offsets_free(t);
}

/* Each requests topic has its own consumer (pipeline/consumer.h): it takes
 * and holds only its own topic's partitions, and leaves the others' for
 * theirs. */
static void each_topic_is_taken_and_held_by_its_own_consumer(void **s)
{
    (void)s;
    sq_offsets *t = sq_offsets_new();
    sq_offsets_arrive(t, "r", 0, 5);
    sq_offsets_arrive(t, "r.iad", 0, 7);
    sq_offsets_arrive(t, "r.iad", 0, 8);
    sq_offsets_complete(t, "r", 0, 5);
    sq_offsets_complete(t, "r.iad", 0, 7);
    sq_offset_commit c[4];
    assert_int_equal(sq_offsets_take_committable(t, "r.iad", c, 4), 1);
    assert_string_equal(c[0].topic, "r.iad");
    assert_int_equal(c[0].offset, 8);
    assert_int_equal(sq_offsets_take_committable(t, "r.iad", c, 4), 0); /* taken once */
    assert_int_equal(sq_offsets_take_committable(t, "r", c, 4), 1);   /* still there for its own */
    assert_string_equal(c[0].topic, "r");
    assert_int_equal(c[0].offset, 6);
    sq_offset_commit hold[4], rel[4];
    size_t nh, nr;
    sq_offsets_holds(t, "r", 1, hold, &nh, rel, &nr, 4);
    assert_int_equal(nh + nr, 0); /* r.iad's open message is not r's to hold */
    sq_offsets_holds(t, "r.iad", 1, hold, &nh, rel, &nr, 4);
    assert_int_equal(nh, 1);
    assert_string_equal(hold[0].topic, "r.iad");
    sq_offsets_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_completion_commits_one_past),
        cmocka_unit_test(out_of_order_completion_waits_for_the_lowest),
        cmocka_unit_test(gaps_in_offsets_are_skipped),
        cmocka_unit_test(redelivery_and_unknown_completions_are_ignored),
        cmocka_unit_test(revoke_mid_flight_forgets_the_partition),
        cmocka_unit_test(topics_and_partitions_are_independent_and_the_ring_grows),
        cmocka_unit_test(the_per_partition_bound_holds_and_releases_each_partition),
        cmocka_unit_test(each_topic_is_taken_and_held_by_its_own_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
