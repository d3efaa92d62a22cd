/* test_batch.c — the pure parts of `sandq batch submit` (producer/src/batch.h):
 * deterministic ULID-shaped ids per line, JSONL line parsing into jobs and raw
 * requests, the token-bucket rate limiter and the progress bar/line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "sq/ids.h"

static sqp_line_kind parse(const char *line, uint64_t lineno, const char *salt, sqp_batch_job *job, char *err)
{
    return sqp_batch_parse_line(line, strlen(line), lineno, salt, "acme", job, err, 256);
}

static void test_ids_are_valid_ulids(void **state)
{
    (void)state;
    unsigned char seed[SQP_BATCH_SEED_LEN];
    char id[SQ_ID_MAX];
    const char *prefixes[] = {"sbx", "req", "tsk"};
    for (uint64_t line = 1; line <= 2000; line++) {
        sqp_batch_seed("", line, "{}", 2, seed);
        for (int p = 0; p < 3; p++) {
            sqp_batch_id(seed, prefixes[p], "role", id);
            assert_true(sq_id_valid(id, prefixes[p]));
            assert_int_equal(strlen(id), 4 + 26);
            assert_true(id[4] <= '7');
        }
    }
}

static void test_ids_are_deterministic_and_distinct(void **state)
{
    (void)state;
    const char *line = "{\"create\":{},\"tasks\":[{\"exec\":[\"echo\",\"hi\"]}]}";
    sqp_batch_job a, b, c, d;
    char err[256];
    assert_int_equal(parse(line, 7, "", &a, err), SQP_LINE_JOB);
    assert_int_equal(parse(line, 7, "", &b, err), SQP_LINE_JOB);
    /* same line, same number, same salt → byte-identical ids (resume is safe) */
    assert_string_equal(a.sandbox_id, b.sandbox_id);
    assert_string_equal(a.create_request_id, b.create_request_id);
    assert_string_equal(a.kill_request_id, b.kill_request_id);
    assert_string_equal(a.tasks[0].task_id, b.tasks[0].task_id);
    assert_string_equal(a.tasks[0].request_id, b.tasks[0].request_id);
    /* another line number or another salt → other ids */
    assert_int_equal(parse(line, 8, "", &c, err), SQP_LINE_JOB);
    assert_string_not_equal(a.sandbox_id, c.sandbox_id);
    assert_int_equal(parse(line, 7, "run2", &d, err), SQP_LINE_JOB);
    assert_string_not_equal(a.sandbox_id, d.sandbox_id);
    /* the roles of one line never collide */
    assert_string_not_equal(a.create_request_id, a.kill_request_id);
    assert_string_not_equal(a.create_request_id, a.tasks[0].request_id);
    sqp_batch_job_free(&a);
    sqp_batch_job_free(&b);
    sqp_batch_job_free(&c);
    sqp_batch_job_free(&d);
}

static void test_id_time_is_in_the_past(void **state)
{
    (void)state;
    unsigned char seed[SQP_BATCH_SEED_LEN];
    char id[SQ_ID_MAX];
    for (uint64_t line = 1; line <= 500; line++) {
        sqp_batch_seed("x", line, "y", 1, seed);
        sqp_batch_id(seed, "sbx", "sandbox", id);
        /* 2^40 ms is 2004-11: the first three ULID chars encode bits 47..33, so the
         * top 8 bits (first char and the high bits of the second) are zero */
        assert_int_equal(id[4], '0');
        assert_int_equal(id[5], '0');
    }
}

static void test_parse_job_shorthands(void **state)
{
    (void)state;
    sqp_batch_job j;
    char err[256];
    const char *line = "{\"create\":{\"runtime\":\"python\"},\"metadata\":{\"k\":\"v\"},\"tasks\":["
                       "{\"exec\":[\"ls\",\"-la\"],\"timeoutMs\":5000},"
                       "{\"sh\":\"echo a | wc -c\"},"
                       "{\"code\":\"print(1)\",\"language\":\"python\"},"
                       "{\"type\":\"files.write\",\"body\":{\"path\":\"a.txt\",\"content\":\"x\"}},"
                       "{\"prompt\":\"write report.md\",\"agent\":\"plan\",\"timeoutMs\":60000}]}";
    assert_int_equal(parse(line, 1, "", &j, err), SQP_LINE_JOB);
    assert_false(j.raw);
    assert_int_equal(j.ntasks, 5);
    assert_string_equal(json_string_value(json_object_get(j.create_body, "runtime")), "python");
    assert_string_equal(json_string_value(json_object_get(j.metadata, "k")), "v");
    assert_string_equal(j.tasks[0].type, "task.exec");
    assert_string_equal(json_string_value(json_object_get(j.tasks[0].body, "command")), "ls");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j.tasks[0].body, "args"), 0)), "-la");
    assert_int_equal(json_integer_value(json_object_get(j.tasks[0].body, "timeoutMs")), 5000);
    assert_string_equal(json_string_value(json_object_get(j.tasks[1].body, "command")), "sh");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j.tasks[1].body, "args"), 1)),
                        "echo a | wc -c");
    assert_string_equal(j.tasks[2].type, "task.code");
    assert_string_equal(json_string_value(json_object_get(j.tasks[2].body, "language")), "python");
    assert_string_equal(j.tasks[3].type, "files.write");
    /* issue 12: an agent job */
    assert_string_equal(j.tasks[4].type, "task.agent");
    assert_string_equal(json_string_value(json_object_get(j.tasks[4].body, "prompt")), "write report.md");
    assert_string_equal(json_string_value(json_object_get(j.tasks[4].body, "agent")), "plan");
    assert_int_equal(json_integer_value(json_object_get(j.tasks[4].body, "timeoutMs")), 60000);
    assert_false(j.keep);
    sqp_batch_job_free(&j);
}

static void test_parse_raw_request_fills_ids(void **state)
{
    (void)state;
    sqp_batch_job j, k;
    char err[256];
    const char *line = "{\"type\":\"task.exec\",\"body\":{\"command\":\"true\"}}";
    assert_int_equal(parse(line, 3, "", &j, err), SQP_LINE_JOB);
    assert_true(j.raw);
    assert_string_equal(j.raw_type, "task.exec");
    assert_true(sq_id_valid(j.raw_request_id, "req"));
    assert_true(sq_id_valid(j.sandbox_id, "sbx"));
    assert_true(sq_id_valid(j.raw_task_id, "tsk")); /* task.* needs a taskId */
    assert_int_equal(json_integer_value(json_object_get(j.raw_env, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(j.raw_env, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(j.raw_env, "requestId")), j.raw_request_id);
    /* given ids are kept; a kill gets no taskId */
    const char *kill = "{\"type\":\"sandbox.kill\",\"sandboxId\":\"sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW\","
                       "\"requestId\":\"req_01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"tenant\":\"other\"}";
    assert_int_equal(parse(kill, 4, "", &k, err), SQP_LINE_JOB);
    assert_string_equal(k.sandbox_id, "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW");
    assert_string_equal(k.raw_request_id, "req_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_string_equal(k.raw_task_id, "");
    assert_null(json_object_get(k.raw_env, "taskId"));
    assert_string_equal(json_string_value(json_object_get(k.raw_env, "tenant")), "other");
    sqp_batch_job_free(&j);
    sqp_batch_job_free(&k);
}

static void test_parse_skips_and_errors(void **state)
{
    (void)state;
    sqp_batch_job j;
    char err[256];
    assert_int_equal(parse("", 1, "", &j, err), SQP_LINE_SKIP);
    assert_int_equal(parse("   \t", 1, "", &j, err), SQP_LINE_SKIP);
    assert_int_equal(parse("# comment", 1, "", &j, err), SQP_LINE_SKIP);
    assert_int_equal(parse("{nope", 1, "", &j, err), SQP_LINE_ERROR);
    assert_non_null(strstr(err, "not JSON"));
    assert_int_equal(parse("[1,2]", 1, "", &j, err), SQP_LINE_ERROR);
    assert_int_equal(parse("{\"create\":{},\"taks\":[]}", 1, "", &j, err), SQP_LINE_ERROR);
    assert_non_null(strstr(err, "taks"));
    assert_int_equal(parse("{\"tasks\":[{\"exec\":[]}]}", 1, "", &j, err), SQP_LINE_ERROR);
    assert_non_null(strstr(err, "tasks[0].exec"));
    assert_int_equal(parse("{\"tasks\":[{\"exec\":[\"a\"]},{\"bogus\":1}]}", 1, "", &j, err), SQP_LINE_ERROR);
    assert_non_null(strstr(err, "tasks[1]"));
    assert_int_equal(parse("{\"tasks\":[{\"type\":\"sandbox.kill\"}]}", 1, "", &j, err), SQP_LINE_ERROR);
    assert_int_equal(parse("{\"tasks\":[{\"sh\":\"x\",\"timeoutMs\":0}]}", 1, "", &j, err), SQP_LINE_ERROR);
    assert_int_equal(parse("{\"metadata\":{\"a\":1}}", 1, "", &j, err), SQP_LINE_ERROR);
    assert_int_equal(parse("{\"keep\":\"yes\"}", 1, "", &j, err), SQP_LINE_ERROR);
    /* a job with nothing but defaults is fine: create, then kill */
    assert_int_equal(parse("{}", 1, "", &j, err), SQP_LINE_JOB);
    assert_int_equal(j.ntasks, 0);
    sqp_batch_job_free(&j);
}

static void test_rate_limiter(void **state)
{
    (void)state;
    sqp_rate r;
    sqp_rate_init(&r, 10, 0); /* 10/s, burst 1 */
    assert_true(sqp_rate_take(&r, 0));
    assert_false(sqp_rate_take(&r, 0));
    assert_int_equal(sqp_rate_wait_ms(&r, 0), 100);
    assert_int_equal(sqp_rate_wait_ms(&r, 60), 40);
    assert_false(sqp_rate_take(&r, 99));
    assert_true(sqp_rate_take(&r, 100));
    /* over 10 s at most 10/s (+ the burst) are granted, polling every ms */
    int granted = 0;
    for (int64_t t = 101; t <= 10100; t++)
        granted += sqp_rate_take(&r, t);
    assert_true(granted >= 99 && granted <= 101);
    /* a high rate accumulates a tenth of a second of tokens */
    sqp_rate_init(&r, 1000, 0);
    int burst = 0;
    while (sqp_rate_take(&r, 1000))
        burst++;
    assert_int_equal(burst, 100);
    /* unlimited */
    sqp_rate_init(&r, 0, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(sqp_rate_take(&r, 0));
    assert_int_equal(sqp_rate_wait_ms(&r, 0), 0);
}

static void test_parse_rate(void **state)
{
    (void)state;
    double r;
    assert_int_equal(sqp_parse_rate("100/s", &r), 0);
    assert_true(r == 100);
    assert_int_equal(sqp_parse_rate("600/m", &r), 0);
    assert_true(r == 10);
    assert_int_equal(sqp_parse_rate("7200/h", &r), 0);
    assert_true(r == 2);
    assert_int_equal(sqp_parse_rate("2.5", &r), 0);
    assert_true(r == 2.5);
    assert_int_equal(sqp_parse_rate("0/s", &r), -1);
    assert_int_equal(sqp_parse_rate("-1", &r), -1);
    assert_int_equal(sqp_parse_rate("10/d", &r), -1);
    assert_int_equal(sqp_parse_rate("fast", &r), -1);
    assert_int_equal(sqp_parse_rate("", &r), -1);
}

static void test_progress_format(void **state)
{
    (void)state;
    char out[512];
    sqp_progress p = {.total = 1000, .submitted = 500, .running = 12, .succeeded = 480, .failed = 8,
                      .elapsed_ms = 5200, .rate = 100.0, .waiting = false};
    sqp_progress_bar(&p, 10, out, sizeof out);
    assert_string_equal(out, "[#####-----]  50% 500/1000 submitted | 12 running | 480 ok | 8 failed | 100.0/s | ETA 5.0s");
    sqp_progress_line(&p, out, sizeof out);
    assert_string_equal(out, "batch: 500/1000 submitted, 12 running, 480 succeeded, 8 failed, 100.0/s, elapsed 5.2s, "
                             "eta 5.0s");
    /* --wait: progress counts finished jobs */
    p.waiting = true;
    p.rate = 0;
    sqp_progress_bar(&p, 10, out, sizeof out);
    assert_non_null(strstr(out, "[####------]  48%"));
    assert_non_null(strstr(out, "ETA ?"));
    p.succeeded = 992;
    sqp_progress_bar(&p, 4, out, sizeof out);
    assert_non_null(strstr(out, "[####] 100%"));
    assert_non_null(strstr(out, "ETA 0s"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_are_valid_ulids),
        cmocka_unit_test(test_ids_are_deterministic_and_distinct),
        cmocka_unit_test(test_id_time_is_in_the_past),
        cmocka_unit_test(test_parse_job_shorthands),
        cmocka_unit_test(test_parse_raw_request_fills_ids),
        cmocka_unit_test(test_parse_skips_and_errors),
        cmocka_unit_test(test_rate_limiter),
        cmocka_unit_test(test_parse_rate),
        cmocka_unit_test(test_progress_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
