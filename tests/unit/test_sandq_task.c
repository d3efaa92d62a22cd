/* test_sandq_task.c — libsandq's pure core: how a task's events end a wait
 * (producer/src/task.c: ordered, de-duplicated output; completed / failed /
 * rejected / sandbox ended), how protocol error codes reach sandq_error
 * (errors.c), and that the request bodies libsandq builds (body.c) pass the
 * worker's own validator (sq_request_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "sq/codec.h"
#include "sq/event.h"
#include "sq/protocol.h"

#define SBX "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW"
#define TSK "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAX"
#define TSK2 "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAZ"
#define REQ "req_01ARZ3NDEKTSV4RRFFQ69G5FAY"
#define REQ2 "req_01ARZ3NDEKTSV4RRFFQ69G5FB0"

/* ---- helpers: real envelopes, serialized and parsed as libsandq reads them ---- */

static int seq;

static sq_event make(const char *type, const char *task_id, const char *request_id, json_t *data)
{
    sq_event_ctx ctx = {.sandbox_id = SBX, .task_id = task_id, .request_id = request_id, .worker_id = "w-1"};
    json_t *env = sq_event_new("evt_01ARZ3NDEKTSV4RRFFQ69G5FB1", type, &ctx, ++seq, 1795771391523LL, data);
    char *s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    sq_event ev;
    sq_err err;
    assert_int_equal(sq_event_parse(s, strlen(s), &ev, &err), 0);
    free(s);
    return ev;
}

static bool feed(sqp_taskstate *ts, const char *type, const char *task_id, const char *request_id, json_t *data)
{
    sq_event ev = make(type, task_id, request_id, data);
    bool about = sqp_taskstate_feed(ts, &ev);
    sq_event_free(&ev);
    return about;
}

typedef struct sink {
    char out[2][256];
    size_t len[2];
    uint64_t last_offset[2];
    int calls;
} sink;

static sandq_code collect(void *user, const char *stream, uint64_t offset, const void *bytes, size_t len,
                          sandq_error *err)
{
    (void)err;
    sink *s = user;
    int i = strcmp(stream, "stderr") == 0 ? 1 : 0;
    assert_int_equal(offset, s->len[i]); /* always contiguous after de-duplication */
    memcpy(s->out[i] + s->len[i], bytes, len);
    s->len[i] += len;
    s->out[i][s->len[i]] = '\0';
    s->calls++;
    return SANDQ_OK;
}

static json_t *out(const char *stream, const char *text, int offset)
{
    return json_pack("{s:s, s:s, s:i}", "stream", stream, "data", text, "offset", offset);
}

/* ---- task events ---- */

static void test_output_then_completed(void **state)
{
    (void)state;
    sink s = {0};
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, collect, &s);
    assert_true(feed(&ts, "sandbox.task.queued", TSK, REQ, json_pack("{s:s}", "kind", "exec")));
    assert_false(feed(&ts, "sandbox.active", NULL, REQ, json_pack("{s:s}", "state", "active")));
    assert_true(feed(&ts, "sandbox.task.output", TSK, REQ, out("stdout", "hel", 0)));
    assert_true(feed(&ts, "sandbox.task.output", TSK, REQ, out("stderr", "oops\n", 0)));
    assert_true(feed(&ts, "sandbox.task.output", TSK, REQ, out("stdout", "hel", 0))); /* replayed duplicate */
    assert_true(feed(&ts, "sandbox.task.output", TSK, REQ, out("stdout", "llo\n", 2))); /* overlaps by one */
    char b64[16];
    sq_b64_encode("\x00\xff", 2, b64);
    assert_true(feed(&ts, "sandbox.task.output", TSK, REQ,
                     json_pack("{s:s, s:s, s:i}", "stream", "stdout", "dataB64", b64, "offset", 6)));
    assert_false(ts.done);
    assert_true(feed(&ts, "sandbox.task.completed", TSK, REQ,
                     json_pack("{s:s, s:i, s:i, s:{s:s}, s:[]}", "kind", "exec", "exitCode", 3, "durationMs", 12,
                               "result", "note", "x", "artifacts")));
    assert_true(ts.done);
    assert_int_equal(ts.code, SANDQ_OK);
    assert_int_equal(ts.exit_code, 3);
    assert_int_equal(ts.duration_ms, 12);
    assert_string_equal(json_string_value(json_object_get(ts.result, "note")), "x");
    assert_int_equal(s.len[0], 8);
    assert_memory_equal(s.out[0], "hello\n\x00\xff", 8);
    assert_string_equal(s.out[1], "oops\n");
    /* after the end, nothing more is taken */
    assert_false(feed(&ts, "sandbox.task.output", TSK, REQ, out("stdout", "late", 8)));
    assert_int_equal(s.len[0], 8);
    sqp_taskstate_free(&ts);
}

static void test_other_tasks_ignored(void **state)
{
    (void)state;
    sink s = {0};
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, collect, &s);
    assert_false(feed(&ts, "sandbox.task.output", TSK2, REQ2, out("stdout", "not mine", 0)));
    assert_false(feed(&ts, "sandbox.task.completed", TSK2, REQ2, json_pack("{s:s, s:i}", "kind", "exec", "exitCode", 0)));
    assert_false(feed(&ts, "request.rejected", NULL, REQ2, json_pack("{s:s, s:s}", "code", "invalid_state", "message", "m")));
    assert_false(ts.done);
    assert_int_equal(s.calls, 0);
    sqp_taskstate_free(&ts);
}

static void test_rejected(void **state)
{
    (void)state;
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
    assert_true(feed(&ts, "request.rejected", NULL, REQ,
                     json_pack("{s:s, s:s, s:s}", "code", "invalid_request", "message", "command is required", "field",
                               "body.command")));
    assert_true(ts.done);
    assert_int_equal(ts.code, SANDQ_E_INVALID_REQUEST);
    assert_string_equal(ts.err.message, "command is required");
    assert_string_equal(ts.err.field, "body.command");
    assert_string_equal(ts.err.request_id, REQ);
    assert_string_equal(ts.err.task_id, TSK);
    sqp_taskstate_free(&ts);
}

static void test_failed_codes(void **state)
{
    (void)state;
    static const struct {
        const char *wire;
        sandq_code code;
    } cases[] = {{"timed_out", SANDQ_E_TIMED_OUT},         {"canceled", SANDQ_E_CANCELED},
                 {"not_found", SANDQ_E_NOT_FOUND},         {"sandbox_not_found", SANDQ_E_SANDBOX_NOT_FOUND},
                 {"path_outside_workspace", SANDQ_E_PATH_OUTSIDE_WORKSPACE},
                 {"capability_disabled", SANDQ_E_CAPABILITY_DISABLED}, {"internal", SANDQ_E_INTERNAL},
                 {"capability_unavailable", SANDQ_E_CAPABILITY_UNAVAILABLE},
                 {"checkpoint_not_found", SANDQ_E_CHECKPOINT_NOT_FOUND},
                 {"handoff_not_found", SANDQ_E_HANDOFF_NOT_FOUND}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqp_taskstate ts;
        sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
        assert_true(feed(&ts, "sandbox.task.failed", TSK, REQ,
                         json_pack("{s:s, s:s, s:s, s:i, s:i}", "kind", "exec", "code", cases[i].wire, "message",
                                   "why", "exitCode", 137, "durationMs", 5)));
        assert_true(ts.done);
        assert_int_equal(ts.code, cases[i].code);
        assert_string_equal(sandq_code_name(ts.code), cases[i].wire);
        assert_string_equal(ts.err.message, "why");
        assert_int_equal(ts.err.exit_code, 137);
        sqp_taskstate_free(&ts);
    }
}

static void test_task_failure_reason_reaches_the_error(void **state)
{
    (void)state;
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
    feed(&ts, "sandbox.task.failed", TSK, REQ,
         json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i}", "kind", "browser", "code", "not_found", "message",
                   "action 1 (click #x) failed: no element matches the selector #x", "reason", "selector_not_found",
                   "actionIndex", 1, "op", "click", "durationMs", 5));
    assert_int_equal(ts.code, SANDQ_E_NOT_FOUND);
    assert_string_equal(ts.err.reason, "selector_not_found");
    assert_non_null(strstr(ts.err.message, "action 1 (click #x)"));
    sqp_taskstate_free(&ts);
}

static void test_unknown_wire_code(void **state)
{
    (void)state;
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
    feed(&ts, "sandbox.task.failed", TSK, REQ,
         json_pack("{s:s, s:s, s:s, s:i}", "kind", "exec", "code", "brand_new_code", "message", "m", "durationMs", 1));
    assert_int_equal(ts.code, SANDQ_E_INTERNAL);
    assert_non_null(strstr(ts.err.message, "brand_new_code"));
    sqp_taskstate_free(&ts);
}

static void test_sandbox_ends_under_task(void **state)
{
    (void)state;
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
    assert_true(feed(&ts, "sandbox.ended", NULL, NULL, json_pack("{s:s, s:s, s:s}", "state", "ended", "previous",
                                                                 "active", "reason", "timeout")));
    assert_int_equal(ts.code, SANDQ_E_SANDBOX_ENDED);
    assert_string_equal(ts.err.reason, "timeout");
    sqp_taskstate_free(&ts);

    sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
    assert_true(feed(&ts, "sandbox.failed", NULL, NULL,
                     json_pack("{s:s, s:s, s:s, s:s}", "state", "failed", "previous", "active", "reason", "oom_killed",
                               "message", "out of memory")));
    assert_int_equal(ts.code, SANDQ_E_SANDBOX_FAILED);
    assert_string_equal(ts.err.reason, "oom_killed");
    assert_non_null(strstr(ts.err.message, "out of memory"));
    sqp_taskstate_free(&ts);
}

static void test_bad_output_is_protocol_error(void **state)
{
    (void)state;
    sqp_taskstate ts;
    sqp_taskstate_init(&ts, TSK, REQ, NULL, NULL);
    feed(&ts, "sandbox.task.output", TSK, REQ, json_pack("{s:s, s:s, s:i}", "stream", "stdout", "dataB64", "!!", "offset", 0));
    assert_true(ts.done);
    assert_int_equal(ts.code, SANDQ_E_PROTOCOL);
    sqp_taskstate_free(&ts);
}

/* ---- codes ---- */

static void test_code_names(void **state)
{
    (void)state;
    /* the protocol codes keep sq_code's numbering and wire names */
    for (int c = SQ_INVALID_REQUEST; c <= SQ_INTERNAL; c++) {
        assert_string_equal(sandq_code_name((sandq_code)c), sq_code_name((sq_code)c));
        assert_int_equal(sqp_code_from_wire(sq_code_name((sq_code)c)), c);
    }
    assert_string_equal(sandq_code_name(SANDQ_E_WAIT_TIMEOUT), "wait_timeout");
    assert_string_equal(sandq_code_name(SANDQ_E_KAFKA), "kafka_error");
    assert_string_equal(sandq_strerror(SANDQ_E_SANDBOX_NOT_FOUND), "sandbox not found");
    assert_string_equal(sandq_strerror((sandq_code)9999), "unknown error");
}

/* ---- bodies pass the worker's validator ---- */

static void assert_valid(const char *type, const char *task_id, json_t *body, json_t *metadata)
{
    json_t *env = sqp_envelope(type, REQ, SBX, task_id, "acme", NULL, metadata, body);
    char *s = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    sq_request req;
    sq_err err;
    sq_parse_outcome o = sq_request_parse(s, strlen(s), 1 << 22, &req, &err);
    if (o != SQ_PARSE_OK)
        fail_msg("%s rejected: %s (%s)\n%s", type, err.msg, err.field, s);
    sq_request_free(&req);
    free(s);
}

static void test_create_body(void **state)
{
    (void)state;
    const char *env[] = {"A=1", "B=x=y", NULL};
    const char *md[] = {"jobId=42", NULL};
    sandq_create_opts o = {.runtime = "python", .env = env, .network = "internet", .memory_mb = 512, .cpus = 1.5,
                           .pids = 64, .disk_mb = 1024, .timeout_ms = 60000, .idle_timeout_ms = 30000,
                           .body_json = "{\"onTimeout\":\"pause\"}", .auto_checkpoint_ms = 300000};
    sandq_error err;
    json_t *b = sqp_body_create(&o, "iad", &err);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "region")), "iad");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "env"), "B")), "x=y");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "limits"), "memoryMb")), 512);
    assert_string_equal(json_string_value(json_object_get(b, "onTimeout")), "pause");
    assert_true(json_is_true(json_object_get(json_object_get(b, "checkpoint"), "auto")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "checkpoint"), "intervalMs")), 300000);
    assert_valid("sandbox.create", NULL, b, sqp_kv_object(md, "metadata", &err));

    sandq_create_opts empty = {0};
    b = sqp_body_create(&empty, "", &err);
    assert_int_equal(json_object_size(b), 0);
    assert_valid("sandbox.create", NULL, b, NULL);

    const char *bad_env[] = {"NOEQUALS", NULL};
    sandq_create_opts bad = {.env = bad_env};
    assert_null(sqp_body_create(&bad, NULL, &err));
    assert_int_equal(err.code, SANDQ_E_BAD_ARGUMENT);
    sandq_create_opts bad_json = {.body_json = "[1]"};
    assert_null(sqp_body_create(&bad_json, NULL, &err));
    assert_int_equal(err.code, SANDQ_E_BAD_ARGUMENT);
}

static void test_exec_body(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "cat", NULL};
    const char *env[] = {"X=1", NULL};
    sandq_exec_opts o = {.cwd = "app", .env = env, .stdin_data = "text\n", .stdin_len = 5, .timeout_ms = 1000};
    sandq_error err;
    json_t *b = sqp_body_exec(argv, &o, &err);
    assert_string_equal(json_string_value(json_object_get(b, "command")), "sh");
    assert_int_equal(json_array_size(json_object_get(b, "args")), 2);
    assert_string_equal(json_string_value(json_object_get(b, "stdin")), "text\n");
    assert_null(json_object_get(b, "stdinB64"));
    assert_valid("task.exec", TSK, b, NULL);

    sandq_exec_opts bin = {.stdin_data = "\x00\x01\xff", .stdin_len = 3};
    b = sqp_body_exec(argv, &bin, &err);
    assert_null(json_object_get(b, "stdin"));
    assert_string_equal(json_string_value(json_object_get(b, "stdinB64")), "AAH/");
    assert_valid("task.exec", TSK, b, NULL);

    const char *none[] = {NULL};
    assert_null(sqp_body_exec(none, &o, &err));
    assert_int_equal(err.code, SANDQ_E_BAD_ARGUMENT);
}

static void test_files_write_body(void **state)
{
    (void)state;
    json_t *first = sqp_body_files_write("a/b.bin", "\x01\x02", 2, 0, true, 0644);
    assert_null(json_object_get(first, "offset")); /* the first chunk truncates */
    assert_int_equal(json_integer_value(json_object_get(first, "mode")), 0644);
    assert_string_equal(json_string_value(json_object_get(first, "contentB64")), "AQI=");
    assert_valid("files.write", TSK, first, NULL);
    json_t *later = sqp_body_files_write("a/b.bin", "\x03", 1, 524288, false, 0644);
    assert_int_equal(json_integer_value(json_object_get(later, "offset")), 524288);
    assert_null(json_object_get(later, "mode"));
    assert_valid("files.write", TSK, later, NULL);
    json_t *empty = sqp_body_files_write("e", "", 0, 0, true, 0);
    assert_string_equal(json_string_value(json_object_get(empty, "contentB64")), "");
    assert_valid("files.write", TSK, empty, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_then_completed),
        cmocka_unit_test(test_other_tasks_ignored),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_failed_codes),
        cmocka_unit_test(test_task_failure_reason_reaches_the_error),
        cmocka_unit_test(test_unknown_wire_code),
        cmocka_unit_test(test_sandbox_ends_under_task),
        cmocka_unit_test(test_bad_output_is_protocol_error),
        cmocka_unit_test(test_code_names),
        cmocka_unit_test(test_create_body),
        cmocka_unit_test(test_exec_body),
        cmocka_unit_test(test_files_write_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
