/* test_multirow.c — the history writer's multi-row statements (multirow.h):
 * which INSERTs may carry several rows, the text written for n rows, and how
 * a batch is cut into runs of one statement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/multirow.h"
#include "store/pg_sql.h"

/* The history's statements (pg_sql.h). */
#define EVENTS SQ_SQL_EVENT_INSERT
#define SANDBOXES SQ_SQL_SANDBOX_INSERT
#define TASKS SQ_SQL_TASK_INSERT
#define REQUESTS SQ_SQL_REQUEST_INSERT
#define ENDPOINTS SQ_SQL_WEBHOOK_ENDPOINT_INSERT
#define TASK_STARTED SQ_SQL_TASK_STARTED
#define LIMITS SQ_SQL_SANDBOX_LIMITS

static char *build(const char *sql, int nparams, int rows)
{
    sq_multirow s;
    assert_true(sq_multirow_shape(sql, nparams, &s));
    char *out = sq_multirow_build(sql, &s, rows);
    assert_non_null(out);
    return out;
}

static void events_for_three_rows(void **st)
{
    (void)st;
    char *sql = build(EVENTS, 10, 3);
    assert_string_equal(
        sql, "INSERT INTO events (event_id, sandbox_id, seq, type, task_id, request_id, tenant, worker_id, at, "
             "envelope) VALUES ($1,$2,$3::bigint,$4,$5,$6,$7,$8,to_timestamp($9::bigint / 1000.0),$10::jsonb),"
             "($11,$12,$13::bigint,$14,$15,$16,$17,$18,to_timestamp($19::bigint / 1000.0),$20::jsonb),"
             "($21,$22,$23::bigint,$24,$25,$26,$27,$28,to_timestamp($29::bigint / 1000.0),$30::jsonb) "
             "ON CONFLICT (event_id) DO NOTHING");
    free(sql);
}

/* Every INSERT of the history qualifies, and its one-row form is itself. */
static void one_row_is_the_statement_itself(void **st)
{
    (void)st;
    const char *all[] = {EVENTS, SANDBOXES, TASKS, REQUESTS, ENDPOINTS};
    const int n[] = {SQ_SQL_EVENT_INSERT_PARAMS, SQ_SQL_SANDBOX_INSERT_PARAMS, SQ_SQL_TASK_INSERT_PARAMS,
                     SQ_SQL_REQUEST_INSERT_PARAMS, 6};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        char *sql = build(all[i], n[i], 1);
        assert_string_equal(sql, all[i]);
        free(sql);
    }
}

static void literals_and_subqueries_are_kept_per_row(void **st)
{
    (void)st;
    char *sql = build(TASKS, 6, 2);
    assert_string_equal(sql, "INSERT INTO tasks (id, sandbox_id, request_id, kind, type, state, summary) "
                             "VALUES ($1,$2,$3,$4,$5,'queued',$6::jsonb),($7,$8,$9,$10,$11,'queued',$12::jsonb) "
                             "ON CONFLICT (id) DO NOTHING");
    free(sql);
    sql = build(ENDPOINTS, 6, 2);
    assert_string_equal(sql, "INSERT INTO webhook_endpoints (id, sandbox_id, tenant, url, secret_sealed, event_types, "
                             "description) VALUES ($1, $2, $3, $4, $5, "
                             "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), 'sandbox.create'),"
                             "($7, $8, $9, $10, $11, "
                             "ARRAY(SELECT jsonb_array_elements_text($12::jsonb)), 'sandbox.create') "
                             "ON CONFLICT (sandbox_id) WHERE sandbox_id IS NOT NULL DO NOTHING");
    free(sql);
}

static void dollars_in_strings_and_identifiers_are_not_parameters(void **st)
{
    (void)st;
    char *sql = build("insert into t (a$1, \"b$2\", c) values ($1, 'it''s $1', \"x$2\" || $2)", 2, 2);
    assert_string_equal(sql, "insert into t (a$1, \"b$2\", c) values ($1, 'it''s $1', \"x$2\" || $2),"
                             "($3, 'it''s $1', \"x$2\" || $4)");
    free(sql);
}

static void refused_statements(void **st)
{
    (void)st;
    sq_multirow s;
    const struct {
        const char *sql;
        int n;
    } no[] = {
        {TASK_STARTED, 1},
        {LIMITS, 2},
        {"INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET b = 1", 1},
        {"INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET b = excluded.b", 1},
        {"INSERT INTO t (a) SELECT $1", 1},
        {"INSERT INTO t (a) SELECT x FROM (VALUES ($1)) v(x)", 1},
        {"INSERT INTO t DEFAULT VALUES", 1},
        {"INSERT INTO t (a) VALUES ($1), ($2)", 2},
        {"INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) WHERE a <> $2 DO NOTHING", 2},
        {"INSERT INTO t (a, b) VALUES ($1, $3)", 2},
        {"INSERT INTO t (a) VALUES ($0)", 1},
        {"INSERT INTO t (a) VALUES ($1) -- note", 1},
        {"INSERT INTO t (a) VALUES ($1) /* note */", 1},
        {"INSERT INTO t (a) VALUES ($1); DELETE FROM t", 1},
        {"INSERT INTO t (a) VALUES ($$x$$ || $1)", 1},
        {"INSERT INTO t (a) VALUES (E'\\n' || $1)", 1},
        {"INSERT INTO t (a) VALUES ('open || $1)", 1},
        {"INSERT INTO t (a) VALUES (($1)", 1},
        {"INSERT INTO t (a) VALUES ($1))", 1},
        {"INSERT INTO t (a) VALUES ($1)", 0},
        {"WITH x AS (SELECT 1) INSERT INTO t (a) VALUES ($1)", 1},
        {"", 1},
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        if (sq_multirow_shape(no[i].sql, no[i].n, &s))
            fail_msg("accepted: %s", no[i].sql);
    }
    assert_false(sq_multirow_shape(NULL, 1, &s));
}

static void parameter_limit(void **st)
{
    (void)st;
    sq_multirow s;
    assert_true(sq_multirow_shape(EVENTS, 10, &s));
    assert_int_equal(s.max_rows, 6553); /* 65530 parameters */
    char *sql = sq_multirow_build(EVENTS, &s, s.max_rows);
    assert_non_null(sql);
    assert_non_null(strstr(sql, "($65521,$65522,$65523::bigint,"));
    assert_non_null(strstr(sql, "$65530::jsonb) ON CONFLICT (event_id) DO NOTHING"));
    assert_null(strstr(sql, "$65531"));
    free(sql);
    assert_null(sq_multirow_build(EVENTS, &s, s.max_rows + 1));
    assert_null(sq_multirow_build(EVENTS, &s, 0));
}

static void runs_stop_at_another_statement(void **st)
{
    (void)st;
    sq_multirow s;
    char copy[sizeof EVENTS];
    memcpy(copy, EVENTS, sizeof copy); /* the same text at another address */
    const char *sqls[] = {EVENTS, copy, EVENTS, TASK_STARTED, EVENTS, EVENTS};
    const int n[] = {10, 10, 10, 1, 10, 10};
    assert_int_equal(sq_multirow_run(sqls, n, 6, 512, &s), 3);
    assert_int_equal(s.nparams, 10);
    assert_int_equal(sq_multirow_run(sqls + 3, n + 3, 3, 512, &s), 1); /* an UPDATE runs alone */
    assert_int_equal(sq_multirow_run(sqls + 4, n + 4, 2, 512, &s), 2);
    assert_int_equal(sq_multirow_run(sqls, n, 6, 2, &s), 2);           /* the caller's limit */
    assert_int_equal(sq_multirow_run(sqls, n, 6, 1, &s), 1);
    assert_int_equal(sq_multirow_run(sqls, n, 0, 512, &s), 0);
}

static void runs_stop_at_another_parameter_count(void **st)
{
    (void)st;
    sq_multirow s;
    const char *sqls[] = {REQUESTS, REQUESTS, REQUESTS};
    const int n[] = {4, 4, 5};
    assert_int_equal(sq_multirow_run(sqls, n, 3, 512, &s), 2);
}

static void runs_stay_within_the_parameter_limit(void **st)
{
    (void)st;
    enum { N = 40 };
    const char *sql = "INSERT INTO t (a) VALUES (ARRAY[$1, $20000])";
    const char *sqls[N];
    int n[N];
    for (int i = 0; i < N; i++) {
        sqls[i] = sql;
        n[i] = 20000;
    }
    sq_multirow s;
    assert_int_equal(sq_multirow_run(sqls, n, N, 512, &s), 3); /* 60000 parameters, not 80000 */
    assert_int_equal(s.max_rows, 3);
    for (int i = 0; i < N; i++)
        n[i] = 40000;
    assert_int_equal(sq_multirow_run(sqls, n, N, 512, &s), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_for_three_rows),
        cmocka_unit_test(one_row_is_the_statement_itself),
        cmocka_unit_test(literals_and_subqueries_are_kept_per_row),
        cmocka_unit_test(dollars_in_strings_and_identifiers_are_not_parameters),
        cmocka_unit_test(refused_statements),
        cmocka_unit_test(parameter_limit),
        cmocka_unit_test(runs_stop_at_another_statement),
        cmocka_unit_test(runs_stop_at_another_parameter_count),
        cmocka_unit_test(runs_stay_within_the_parameter_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
