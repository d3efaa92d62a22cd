/* test_batch_order.c — the order the history writer sends a batch in
 * (batch_order.h): each of the worker's statements has its rank, kinds are
 * brought together stably, and nothing moves across a statement of unknown
 * kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/batch_order.h"
#include "store/pg_sql.h"

static void every_statement_of_the_worker_has_its_rank(void **st)
{
    (void)st;
    assert_int_equal(sq_batch_rank(SQ_SQL_SANDBOX_INSERT), 0);
    assert_int_equal(sq_batch_rank(SQ_SQL_WEBHOOK_ENDPOINT_INSERT), 1);
    assert_int_equal(sq_batch_rank(SQ_SQL_TASK_INSERT), 2);
    assert_int_equal(sq_batch_rank(SQ_SQL_REQUEST_INSERT), 3);
    assert_int_equal(sq_batch_rank(SQ_SQL_EVENT_INSERT), 4);
    assert_int_equal(sq_batch_rank(SQ_SQL_SANDBOX_STATE), 5);
    assert_int_equal(sq_batch_rank(SQ_SQL_SANDBOX_LIMITS), 5);
    assert_int_equal(sq_batch_rank(SQ_SQL_TASK_STARTED), 6);
    assert_int_equal(sq_batch_rank(SQ_SQL_TASK_FINISHED), 6);
}

static void other_statements_are_barriers(void **st)
{
    (void)st;
    assert_int_equal(sq_batch_rank(NULL), -1);
    assert_int_equal(sq_batch_rank(""), -1);
    assert_int_equal(sq_batch_rank("DELETE FROM events"), -1);
    assert_int_equal(sq_batch_rank("INSERT INTO tasks_archive (id) VALUES ($1)"), -1);
    assert_int_equal(sq_batch_rank("INSERT INTO webhook_attempts (delivery_id) VALUES ($1)"), -1);
    assert_int_equal(sq_batch_rank("UPDATE webhook_deliveries SET state = $2 WHERE id = $1"), -1);
    assert_int_equal(sq_batch_rank("INSERTINTO events (a) VALUES ($1)"), -1);
    assert_int_equal(sq_batch_rank("  insert into events (a) VALUES ($1)"), 4);
    assert_int_equal(sq_batch_rank("INSERT INTO events(a) VALUES ($1)"), 4);
}

/* Two exec tasks as the worker queues them, interleaved. */
static void an_interleaved_batch_is_grouped_by_kind_stably(void **st)
{
    (void)st;
    enum { TI = 2, RI = 3, EV = 4, SU = 5, TU = 6 };
    const int ranks[] = {TI, RI, EV, SU, EV, TI, RI, EV, TU, EV, TU, SU, EV};
    const int want[] = {0, 5, 1, 6, 2, 4, 7, 9, 12, 3, 11, 8, 10};
    int n = (int)(sizeof ranks / sizeof *ranks), order[16];
    sq_batch_order(ranks, n, order);
    assert_memory_equal(order, want, sizeof want);
}

static void nothing_moves_across_a_barrier(void **st)
{
    (void)st;
    const int ranks[] = {4, 0, -1, 4, 2, 0, -1, -1, 6, 5};
    const int want[] = {1, 0, 2, 5, 4, 3, 6, 7, 9, 8};
    int n = (int)(sizeof ranks / sizeof *ranks), order[16];
    sq_batch_order(ranks, n, order);
    assert_memory_equal(order, want, sizeof want);
}

/* Whatever the ranks, the order is a permutation: nothing dropped, nothing twice. */
static void every_statement_is_placed_once(void **st)
{
    (void)st;
    const int ranks[] = {9, 0, 12, -1, 7, 7, 3};
    const int want[] = {1, 0, 2, 3, 6, 4, 5};
    int n = (int)(sizeof ranks / sizeof *ranks), order[16];
    sq_batch_order(ranks, n, order);
    assert_memory_equal(order, want, sizeof want);
}

static void an_empty_batch(void **st)
{
    (void)st;
    int order[1] = {42};
    sq_batch_order(NULL, 0, order);
    assert_int_equal(order[0], 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_statement_of_the_worker_has_its_rank),
        cmocka_unit_test(other_statements_are_barriers),
        cmocka_unit_test(an_interleaved_batch_is_grouped_by_kind_stably),
        cmocka_unit_test(nothing_moves_across_a_barrier),
        cmocka_unit_test(every_statement_is_placed_once),
        cmocka_unit_test(an_empty_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
