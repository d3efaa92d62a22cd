/* test_event.c — the event envelope (sq/event.h): what sq_event_new writes
 * (PROTOCOL.md "Event envelope") and that sq_event_parse reads it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sq/event.h"

#define EVT "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"
#define SBX "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW"
#define TSK "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAX"
#define REQ "req_01ARZ3NDEKTSV4RRFFQ69G5FAY"

static const char *str_of(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_new_full_context(void **state)
{
    (void)state;
    json_t *md = json_pack("{s:s}", "jobId", "42");
    sq_event_ctx ctx = {.sandbox_id = SBX,
                        .task_id = TSK,
                        .request_id = REQ,
                        .worker_id = "w-iad-1",
                        .region = "iad",
                        .tenant = "acme",
                        .metadata = md};
    json_t *data = json_pack("{s:s,s:i}", "kind", "exec", "exitCode", 3);
    json_t *ev = sq_event_new(EVT, "sandbox.task.completed", &ctx, 7, 1795771391523LL, data);
    assert_non_null(ev);

    /* Exactly the envelope fields of PROTOCOL.md, nothing more. */
    static const char *const keys[] = {"v",   "eventId",  "type",   "sandboxId", "taskId",   "requestId", "seq",
                                       "at",  "workerId", "region", "tenant",    "metadata", "data"};
    assert_int_equal(json_object_size(ev), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(ev, keys[i]))
            fail_msg("event has no \"%s\"", keys[i]);

    assert_int_equal(json_integer_value(json_object_get(ev, "v")), 1);
    assert_string_equal(str_of(ev, "eventId"), EVT);
    assert_string_equal(str_of(ev, "type"), "sandbox.task.completed");
    assert_string_equal(str_of(ev, "sandboxId"), SBX);
    assert_string_equal(str_of(ev, "taskId"), TSK);
    assert_string_equal(str_of(ev, "requestId"), REQ);
    assert_true(json_is_integer(json_object_get(ev, "seq")));
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 7);
    assert_int_equal(json_integer_value(json_object_get(ev, "at")), 1795771391523LL);
    assert_string_equal(str_of(ev, "workerId"), "w-iad-1");
    assert_string_equal(str_of(ev, "region"), "iad");
    assert_string_equal(str_of(ev, "tenant"), "acme");
    assert_string_equal(str_of(json_object_get(ev, "metadata"), "jobId"), "42");
    /* data is the object passed in (stolen, not copied). */
    assert_ptr_equal(json_object_get(ev, "data"), data);

    /* metadata is a copy: the request that caused it may be freed first. */
    assert_ptr_not_equal(json_object_get(ev, "metadata"), md);
    json_object_set_new(md, "jobId", json_string("changed"));
    assert_string_equal(str_of(json_object_get(ev, "metadata"), "jobId"), "42");

    json_decref(md);
    json_decref(ev);
}

static void test_new_minimal_context(void **state)
{
    (void)state;
    /* A rejection whose sandbox id could not be read: nulls, default tenant,
     * empty metadata, empty data. */
    sq_event_ctx ctx = {.worker_id = "w-1"};
    json_t *ev = sq_event_new(EVT, "request.rejected", &ctx, 0, 1, NULL);
    assert_true(json_is_null(json_object_get(ev, "sandboxId")));
    assert_true(json_is_null(json_object_get(ev, "taskId")));
    assert_true(json_is_null(json_object_get(ev, "requestId")));
    assert_true(json_is_null(json_object_get(ev, "region")));
    assert_string_equal(str_of(ev, "tenant"), "default");
    assert_true(json_is_object(json_object_get(ev, "metadata")));
    assert_int_equal(json_object_size(json_object_get(ev, "metadata")), 0);
    assert_true(json_is_object(json_object_get(ev, "data")));
    assert_int_equal(json_object_size(json_object_get(ev, "data")), 0);
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 0);
    json_decref(ev);

    /* Empty strings are absent values too. */
    sq_event_ctx empty = {.sandbox_id = "", .task_id = "", .request_id = "", .region = "", .tenant = "",
                          .worker_id = "w-1"};
    ev = sq_event_new(EVT, "sandbox.created", &empty, 1, 1, json_object());
    assert_true(json_is_null(json_object_get(ev, "sandboxId")));
    assert_true(json_is_null(json_object_get(ev, "taskId")));
    assert_true(json_is_null(json_object_get(ev, "requestId")));
    assert_true(json_is_null(json_object_get(ev, "region")));
    assert_string_equal(str_of(ev, "tenant"), "default");
    json_decref(ev);
}

static void test_round_trip(void **state)
{
    (void)state;
    sq_event_ctx ctx = {.sandbox_id = SBX, .task_id = TSK, .request_id = REQ, .worker_id = "w-fra-2",
                        .region = "fra", .tenant = "t"};
    json_t *data = json_pack("{s:s,s:s,s:I}", "stream", "stdout", "data", "hello\n", "offset", (json_int_t)0);
    json_t *ev = sq_event_new(EVT, "sandbox.task.output", &ctx, 123456789012LL, 1795771391523LL, data);
    char *buf = json_dumps(ev, JSON_COMPACT);
    assert_non_null(buf);

    sq_event parsed;
    sq_err err;
    sq_err_clear(&err);
    assert_int_equal(sq_event_parse(buf, strlen(buf), &parsed, &err), 0);
    assert_string_equal(parsed.event_id, EVT);
    assert_string_equal(parsed.type, "sandbox.task.output");
    assert_string_equal(parsed.sandbox_id, SBX);
    assert_string_equal(parsed.task_id, TSK);
    assert_string_equal(parsed.request_id, REQ);
    assert_int_equal(parsed.seq, 123456789012LL);
    assert_int_equal(parsed.at, 1795771391523LL);
    assert_non_null(parsed.data);
    assert_true(json_equal(parsed.data, data));
    assert_string_equal(json_string_value(json_object_get(parsed.data, "data")), "hello\n");
    /* The whole envelope survives, not just the fields sq_event copies out. */
    assert_true(json_equal(parsed.root, ev));
    sq_event_free(&parsed);
    assert_null(parsed.root);

    /* Null ids read back as empty strings. */
    sq_event_ctx none = {.worker_id = "w"};
    json_t *ev2 = sq_event_new(EVT, "request.rejected", &none, 0, 5, json_pack("{s:s,s:s}", "code", "invalid_request",
                                                                                "message", "x"));
    char *buf2 = json_dumps(ev2, 0);
    assert_int_equal(sq_event_parse(buf2, strlen(buf2), &parsed, &err), 0);
    assert_string_equal(parsed.sandbox_id, "");
    assert_string_equal(parsed.task_id, "");
    assert_string_equal(parsed.request_id, "");
    assert_string_equal(json_string_value(json_object_get(parsed.data, "code")), "invalid_request");
    sq_event_free(&parsed);

    free(buf);
    free(buf2);
    json_decref(ev);
    json_decref(ev2);
}

static void expect_parse_error(const char *buf, const char *field)
{
    sq_event ev;
    sq_err err;
    sq_err_clear(&err);
    if (sq_event_parse(buf, strlen(buf), &ev, &err) != -1)
        fail_msg("parsed %s", buf);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, field);
    sq_event_free(&ev);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error("", "");
    expect_parse_error("not json", "");
    expect_parse_error("[1,2]", "");
    expect_parse_error("{\"type\":\"sandbox.ready\",\"data\":{}", "");
    expect_parse_error("{\"data\":{}}", "type");
    expect_parse_error("{\"type\":7,\"data\":{}}", "type");
    expect_parse_error("{\"type\":\"sandbox.ready\"}", "data");
    expect_parse_error("{\"type\":\"sandbox.ready\",\"data\":[]}", "data");
    expect_parse_error("{\"type\":\"sandbox.ready\",\"data\":null}", "data");
}

static void test_parse_tolerates_odd_fields(void **state)
{
    (void)state;
    /* A reader copies what it can: ids longer than any real id are truncated,
     * not overflowed; non-string ids read as empty. */
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"type\":\"sandbox.ready\",\"eventId\":\"%0200d\",\"sandboxId\":5,\"seq\":\"x\",\"data\":{}}", 1);
    sq_event ev;
    sq_err err;
    assert_int_equal(sq_event_parse(buf, strlen(buf), &ev, &err), 0);
    assert_int_equal(strlen(ev.event_id), SQ_ID_MAX - 1);
    assert_string_equal(ev.sandbox_id, "");
    assert_int_equal(ev.seq, 0);
    sq_event_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_full_context),
        cmocka_unit_test(test_new_minimal_context),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_tolerates_odd_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
