/* test_batch_tracker.c — the job tracker of `sandq batch submit`
 * (producer/src/batch_tracker.h) and its id index: events in, what the command must
 * do and what the results line will say out. Each test is a sequence of events a
 * run can really see — in order, duplicated, replayed after newer ones, with holes —
 * and checks the outcome a user reads in the results file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch_index.h"
#include "batch_tracker.h"

static const sqp_job_cfg WAIT = {.wait = true, .job_timeout_ms = 60000};
static const sqp_job_cfg NO_WAIT = {.wait = false, .job_timeout_ms = 60000};

static void job(sqp_job_track *jt, const char *line)
{
    sqp_batch_job j;
    memset(&j, 0, sizeof j);
    char errbuf[256];
    assert_int_equal(sqp_batch_parse_line(line, strlen(line), 1, "test", "default", &j, errbuf, sizeof errbuf),
                     SQP_LINE_JOB);
    assert_int_equal(sqp_job_init(jt, &j), 0);
}

/* An event of the job's sandbox. */
static sandq_event ev(const sqp_job_track *jt, const char *type, int64_t seq, const char *task_id,
                      const char *request_id, const char *data)
{
    return (sandq_event){.type = type, .sandbox_id = jt->j.sandbox_id, .task_id = task_id ? task_id : "",
                         .request_id = request_id ? request_id : "", .data_json = data ? data : "{}", .seq = seq};
}

static void apply(sqp_job_track *jt, const char *type, int64_t seq, const char *task_id, const char *request_id,
                  const char *data)
{
    sandq_event e = ev(jt, type, seq, task_id, request_id, data);
    sqp_job_apply(jt, &WAIT, &e, 0);
}

/* Published and acknowledged by Kafka. */
static void acked(sqp_job_track *jt, bool first, bool last)
{
    sqp_job_published(jt);
    sqp_job_delivered(jt, first, last, SANDQ_OK, NULL);
}

/* Start, create acknowledged, sandbox created and ready, tasks and kill sent. */
static void up(sqp_job_track *jt, const sqp_job_cfg *cfg)
{
    sqp_job_start(jt, 0);
    acked(jt, true, false);
    assert_int_equal(sqp_job_next(jt, cfg, 1), SQP_JOB_WAIT);
    apply(jt, "sandbox.created", 1, NULL, jt->j.create_request_id, NULL);
    apply(jt, "sandbox.ready", 2, NULL, jt->j.create_request_id, "{\"state\":\"ready\"}");
    assert_int_equal(sqp_job_next(jt, cfg, 1), SQP_JOB_SEND_TASKS);
    for (size_t i = 0; i < jt->j.ntasks + !jt->j.keep; i++)
        acked(jt, false, i + 1 == jt->j.ntasks + !jt->j.keep);
}

static void test_tasks_after_ready_then_success_with_output(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"echo\",\"hi\"]}]}");
    up(&jt, &WAIT);
    const char *tid = jt.j.tasks[0].task_id;
    apply(&jt, "sandbox.task.output", 3, tid, NULL, "{\"stream\":\"stdout\",\"offset\":0,\"data\":\"hi\\n\"}");
    apply(&jt, "sandbox.task.completed", 4, tid, NULL, "{\"exitCode\":0}");
    assert_int_equal(sqp_job_next(&jt, &WAIT, 2), SQP_JOB_WAIT); /* the sandbox has not ended yet */
    apply(&jt, "sandbox.ended", 5, NULL, jt.j.kill_request_id, "{\"state\":\"ended\"}");
    assert_int_equal(sqp_job_next(&jt, &WAIT, 3), SQP_JOB_FINISH);
    assert_true(sqp_job_succeeded(&jt));
    assert_string_equal(sqp_task_status_name(jt.t[0].status), "completed");
    assert_string_equal(jt.t[0].out[0].p, "hi\n");
    assert_false(jt.live); /* its slot is free for the next line */
    assert_int_equal(sqp_job_next(&jt, &WAIT, 4), SQP_JOB_WAIT); /* finished once */
    sqp_job_free(&jt);
}

static void test_duplicates_and_replays_count_once(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"sh\":\"printf 'hi\\\\nthere'\"}]}");
    up(&jt, &WAIT);
    const char *tid = jt.j.tasks[0].task_id;
    const char *chunk = "{\"stream\":\"stdout\",\"offset\":0,\"data\":\"hi\\n\"}";
    apply(&jt, "sandbox.task.output", 3, tid, NULL, chunk);
    apply(&jt, "sandbox.task.output", 3, tid, NULL, chunk); /* delivered twice */
    /* a later chunk overlapping what was taken adds only the new bytes */
    apply(&jt, "sandbox.task.output", 4, tid, NULL, "{\"stream\":\"stdout\",\"offset\":0,\"data\":\"hi\\nthere\"}");
    apply(&jt, "sandbox.task.completed", 5, tid, NULL, "{\"exitCode\":0}");
    apply(&jt, "sandbox.ended", 6, NULL, NULL, NULL);
    /* a duplicate create is answered again with its old events, after the end */
    apply(&jt, "sandbox.ready", 2, NULL, jt.j.create_request_id, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 3), SQP_JOB_FINISH);
    assert_string_equal(jt.t[0].out[0].p, "hi\nthere");
    assert_true(sqp_job_succeeded(&jt));
    sqp_job_free(&jt);
}

static void test_an_end_seen_before_the_history_waits_for_it(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"echo\",\"late\"]}]}");
    up(&jt, &WAIT);
    const char *tid = jt.j.tasks[0].task_id;
    /* the end arrives while seqs 3 and 4 (the output and the completion) have not */
    apply(&jt, "sandbox.ended", 5, NULL, NULL, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 2), SQP_JOB_WAIT);
    /* output that does not start where the taken output ends is not taken: the bytes
     * before it are missing, and a results line must not show a stream with a hole */
    apply(&jt, "sandbox.task.output", 4, tid, NULL, "{\"stream\":\"stdout\",\"offset\":2,\"data\":\"te\\n\"}");
    assert_null(jt.t[0].out[0].p);
    sqp_job_free(&jt);

    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"echo\",\"late\"]}]}");
    up(&jt, &WAIT);
    tid = jt.j.tasks[0].task_id;
    apply(&jt, "sandbox.task.completed", 4, tid, NULL, "{\"exitCode\":0}");
    apply(&jt, "sandbox.ended", 5, NULL, NULL, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 2), SQP_JOB_WAIT); /* seq 3, the output, is missing */
    apply(&jt, "sandbox.task.output", 3, tid, NULL, "{\"stream\":\"stdout\",\"offset\":0,\"data\":\"late\\n\"}");
    assert_int_equal(sqp_job_next(&jt, &WAIT, 2), SQP_JOB_FINISH);
    assert_string_equal(jt.t[0].out[0].p, "late\n");
    sqp_job_free(&jt);
}

static void test_a_hole_that_stays_asks_for_a_catch_up(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{}}");
    sqp_job_start(&jt, 0);
    acked(&jt, true, false);
    /* the first event never comes: after a while, re-read the sandbox's partition */
    assert_false(sqp_job_needs_catch_up(&jt, SQP_JOB_CATCH_UP_AFTER_MS));
    assert_true(sqp_job_needs_catch_up(&jt, SQP_JOB_CATCH_UP_AFTER_MS + 1));
    sqp_job_caught_up(&jt);
    assert_false(sqp_job_needs_catch_up(&jt, 10 * SQP_JOB_CATCH_UP_AFTER_MS));
    /* having read the partition from the creation, the end decides at once */
    apply(&jt, "sandbox.ended", 4, NULL, NULL, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 5), SQP_JOB_FINISH);
    sqp_job_free(&jt);
}

static void test_full_workers_are_retried_under_new_fixed_ids(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"true\"]}]}");
    sqp_job_start(&jt, 0);
    acked(&jt, true, false);
    char first[SQ_ID_MAX];
    snprintf(first, sizeof first, "%s", jt.j.create_request_id);
    sandq_event e = ev(&jt, "request.rejected", 0, NULL, first, "{\"code\":\"limit_exceeded\",\"message\":\"full\"}");
    sqp_job_apply(&jt, &WAIT, &e, 1000);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1100), SQP_JOB_WAIT); /* after a pause */
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1250), SQP_JOB_RETRY_CREATE);
    assert_string_not_equal(jt.create_req_cur, first);
    char again[SQ_ID_MAX];
    sqp_job_create_attempt_id(&jt, 1, again);
    assert_string_equal(jt.create_req_cur, again); /* a resumed run sends the same id */
    assert_false(jt.failed);
    acked(&jt, false, false);
    /* a second copy of the first rejection schedules nothing: it is not the current attempt */
    sqp_job_apply(&jt, &WAIT, &e, 1300);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 5000), SQP_JOB_WAIT);
    apply(&jt, "sandbox.ready", 2, NULL, jt.create_req_cur, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 5000), SQP_JOB_SEND_TASKS);
    sqp_job_free(&jt);
}

static void test_a_create_over_the_maximum_fails_at_once(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{\"limits\":{\"memoryMb\":999999}},\"tasks\":[{\"exec\":[\"true\"]}]}");
    sqp_job_start(&jt, 0);
    acked(&jt, true, false);
    apply(&jt, "request.rejected", 0, NULL, jt.j.create_request_id,
          "{\"code\":\"limit_exceeded\",\"field\":\"body.limits.memoryMb\",\"message\":\"above 4096\"}");
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1), SQP_JOB_FINISH);
    assert_false(sqp_job_succeeded(&jt));
    assert_string_equal(jt.fail_code, "limit_exceeded");
    assert_string_equal(sqp_task_status_name(jt.t[0].status), "not_run");
    sqp_job_free(&jt);
}

static void test_a_job_out_of_time_is_killed_and_fails(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"sleep\",\"999\"]}]}");
    sqp_job_start(&jt, 0);
    acked(&jt, true, false);
    assert_int_equal(sqp_job_next(&jt, &WAIT, WAIT.job_timeout_ms), SQP_JOB_WAIT);
    assert_int_equal(sqp_job_next(&jt, &WAIT, WAIT.job_timeout_ms + 1), SQP_JOB_SEND_KILL);
    acked(&jt, false, true);
    assert_int_equal(sqp_job_next(&jt, &WAIT, WAIT.job_timeout_ms + 2), SQP_JOB_FINISH);
    assert_string_equal(jt.fail_code, "wait_timeout");
    assert_string_equal(jt.fail_msg, "the sandbox was not ready within --job-timeout");
    sqp_job_free(&jt);
}

static void test_rejected_task_fails_the_job_and_later_ones_did_not_run(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"a\"]},{\"exec\":[\"b\"]}]}");
    up(&jt, &WAIT);
    apply(&jt, "request.rejected", 3, NULL, jt.j.tasks[0].request_id,
          "{\"code\":\"invalid_state\",\"message\":\"not ready\"}");
    apply(&jt, "sandbox.ended", 4, NULL, NULL, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 2), SQP_JOB_FINISH);
    assert_false(sqp_job_succeeded(&jt));
    assert_int_equal(jt.t[0].status, SQP_TASK_FAILED);
    assert_string_equal(jt.t[0].code, "invalid_state");
    assert_string_equal(jt.t[0].message, "rejected: not ready");
    assert_string_equal(sqp_task_status_name(jt.t[1].status), "not_run");
    sqp_job_free(&jt);
}

static void test_a_non_zero_exit_fails_the_job(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"false\"]}]}");
    up(&jt, &WAIT);
    apply(&jt, "sandbox.task.completed", 3, jt.j.tasks[0].task_id, NULL, "{\"exitCode\":1}");
    apply(&jt, "sandbox.ended", 4, NULL, NULL, NULL);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 2), SQP_JOB_FINISH);
    assert_false(sqp_job_succeeded(&jt));
    assert_int_equal(jt.t[0].exit_code, 1);
    sqp_job_free(&jt);
}

static void test_without_wait_a_job_is_done_once_kafka_has_everything(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{},\"tasks\":[{\"exec\":[\"true\"]}]}");
    sqp_job_start(&jt, 0);
    sqp_job_published(&jt);
    assert_true(sqp_job_delivered(&jt, true, false, SANDQ_OK, NULL)); /* now "submitted" */
    sandq_event e = ev(&jt, "sandbox.ready", 2, NULL, jt.j.create_request_id, NULL);
    sqp_job_apply(&jt, &NO_WAIT, &e, 0);
    assert_int_equal(sqp_job_next(&jt, &NO_WAIT, 1), SQP_JOB_SEND_TASKS);
    sqp_job_published(&jt);
    sqp_job_published(&jt);
    sqp_job_delivered(&jt, false, false, SANDQ_OK, NULL);
    assert_int_equal(sqp_job_next(&jt, &NO_WAIT, 1), SQP_JOB_WAIT); /* the kill is not acknowledged yet */
    sqp_job_delivered(&jt, false, true, SANDQ_OK, NULL);
    assert_int_equal(sqp_job_next(&jt, &NO_WAIT, 1), SQP_JOB_FINISH);
    sqp_job_free(&jt);
}

static void test_a_failed_delivery_fails_the_job(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"create\":{}}");
    sqp_job_start(&jt, 0);
    sqp_job_published(&jt);
    assert_false(sqp_job_delivered(&jt, true, false, SANDQ_E_KAFKA, "broker down"));
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1), SQP_JOB_FINISH);
    assert_string_equal(jt.fail_code, "kafka_error");
    assert_string_equal(jt.fail_msg, "broker down");
    sqp_job_free(&jt);
}

static void test_raw_lines_are_answered_by_their_request(void **state)
{
    (void)state;
    sqp_job_track jt;
    job(&jt, "{\"type\":\"task.exec\",\"body\":{\"command\":\"false\"}}");
    assert_true(jt.j.raw);
    sqp_job_start(&jt, 0);
    assert_false(jt.live); /* a raw line holds no sandbox slot */
    acked(&jt, true, true);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1), SQP_JOB_WAIT);
    sandq_event started = ev(&jt, "sandbox.task.started", 3, jt.j.raw_task_id, jt.j.raw_request_id, NULL);
    sqp_job_apply_raw(&jt, &started);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1), SQP_JOB_WAIT);
    sandq_event done = ev(&jt, "sandbox.task.completed", 4, jt.j.raw_task_id, jt.j.raw_request_id, "{\"exitCode\":1}");
    sqp_job_apply_raw(&jt, &done);
    assert_int_equal(sqp_job_next(&jt, &WAIT, 1), SQP_JOB_FINISH);
    assert_string_equal(jt.raw_event, "sandbox.task.completed");
    assert_string_equal(jt.fail_code, "exit_code");
    assert_false(sqp_job_succeeded(&jt));
    sqp_job_free(&jt);
}

static const char *key_of(const void *ctx, size_t i)
{
    return ((const char *const *)ctx)[i];
}

static void test_index_finds_every_id_and_nothing_else(void **state)
{
    (void)state;
    enum { N = 5000 };
    static char ids[N][SQ_ID_MAX];
    static const char *keys[N];
    for (size_t i = 0; i < N; i++) {
        unsigned char seed[SQP_BATCH_SEED_LEN];
        sqp_batch_seed("ix", i, "x", 1, seed);
        sqp_batch_id(seed, "sbx", "sandbox", ids[i]);
        keys[i] = i % 7 == 0 ? "" : ids[i]; /* some entries have no id (raw lines in the sandbox index) */
    }
    sqp_index ix;
    assert_int_equal(sqp_index_init(&ix, N, key_of, keys), 0);
    for (size_t i = 0; i < N; i++)
        sqp_index_put(&ix, i);
    for (size_t i = 0; i < N; i++) {
        size_t got;
        bool found = sqp_index_get(&ix, ids[i], &got);
        assert_int_equal(found, i % 7 != 0);
        if (found)
            assert_int_equal(got, i);
    }
    size_t got;
    assert_false(sqp_index_get(&ix, "sbx_00000000000000000000000000", &got));
    assert_false(sqp_index_get(&ix, "", &got));
    sqp_index_free(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_after_ready_then_success_with_output),
        cmocka_unit_test(test_duplicates_and_replays_count_once),
        cmocka_unit_test(test_an_end_seen_before_the_history_waits_for_it),
        cmocka_unit_test(test_a_hole_that_stays_asks_for_a_catch_up),
        cmocka_unit_test(test_full_workers_are_retried_under_new_fixed_ids),
        cmocka_unit_test(test_a_create_over_the_maximum_fails_at_once),
        cmocka_unit_test(test_a_job_out_of_time_is_killed_and_fails),
        cmocka_unit_test(test_rejected_task_fails_the_job_and_later_ones_did_not_run),
        cmocka_unit_test(test_a_non_zero_exit_fails_the_job),
        cmocka_unit_test(test_without_wait_a_job_is_done_once_kafka_has_everything),
        cmocka_unit_test(test_a_failed_delivery_fails_the_job),
        cmocka_unit_test(test_raw_lines_are_answered_by_their_request),
        cmocka_unit_test(test_index_finds_every_id_and_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
