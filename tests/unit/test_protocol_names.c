/* test_protocol_names.c — the name tables of the wire protocol: request types,
 * task kinds, lifecycle states and their event types, error codes, topics and
 * regions. The expected names are PROTOCOL.md's, written out here by hand so a
 * renamed table entry cannot pass by agreeing with itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sq/err.h"
#include "sq/protocol.h"

static const struct {
    sq_req_type type;
    const char *name;
    bool needs_task;
    const char *kind;
} requests[] = {
    {SQ_REQ_SANDBOX_CREATE, "sandbox.create", false, NULL},
    {SQ_REQ_SANDBOX_PAUSE, "sandbox.pause", false, NULL},
    {SQ_REQ_SANDBOX_RESUME, "sandbox.resume", false, NULL},
    {SQ_REQ_SANDBOX_KILL, "sandbox.kill", false, NULL},
    {SQ_REQ_SANDBOX_SET_TIMEOUT, "sandbox.setTimeout", false, NULL},
    {SQ_REQ_TASK_EXEC, "task.exec", true, "exec"},
    {SQ_REQ_TASK_CODE, "task.code", true, "code"},
    {SQ_REQ_TASK_AGENT, "task.agent", true, "agent"},
    {SQ_REQ_TASK_BROWSER, "task.browser", true, "browser"},
    {SQ_REQ_TASK_DOCUMENT, "task.document", true, "document"},
    {SQ_REQ_TASK_CANCEL, "task.cancel", true, NULL},
    {SQ_REQ_FILES_WRITE, "files.write", true, "files"},
    {SQ_REQ_FILES_READ, "files.read", true, "files"},
    {SQ_REQ_FILES_LIST, "files.list", true, "files"},
    {SQ_REQ_FILES_REMOVE, "files.remove", true, "files"},
    {SQ_REQ_CHECKPOINT_CREATE, "checkpoint.create", true, "checkpoint"},
    {SQ_REQ_CHECKPOINT_RESTORE, "checkpoint.restore", true, "checkpoint"},
    {SQ_REQ_CHECKPOINTS_LIST, "checkpoints.list", true, "checkpoint"},
    {SQ_REQ_HANDOFF_REQUEST, "handoff.request", false, NULL},
    {SQ_REQ_HANDOFF_ACCEPT, "handoff.accept", false, NULL},
    {SQ_REQ_HANDOFF_COMPLETE, "handoff.complete", false, NULL},
    {SQ_REQ_HANDOFF_CANCEL, "handoff.cancel", false, NULL},
    {SQ_REQ_PREVIEW_URL, "preview.url", false, NULL},
};

static void test_request_type_names_round_trip(void **state)
{
    (void)state;
    /* The table above is the whole protocol: every enum value is in it once. */
    assert_int_equal(sizeof requests / sizeof requests[0], SQ_REQ__COUNT - 1);
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        const char *name = sq_req_type_name(requests[i].type);
        assert_non_null(name);
        assert_string_equal(name, requests[i].name);
        assert_int_equal(sq_req_type_from_name(requests[i].name), requests[i].type);
    }
    for (int t = 1; t < SQ_REQ__COUNT; t++)
        assert_int_equal(sq_req_type_from_name(sq_req_type_name((sq_req_type)t)), t);
}

static void test_request_type_unknown(void **state)
{
    (void)state;
    assert_null(sq_req_type_name(SQ_REQ_UNKNOWN));
    assert_null(sq_req_type_name(SQ_REQ__COUNT));
    assert_null(sq_req_type_name((sq_req_type)-1));
    assert_int_equal(sq_req_type_from_name(NULL), SQ_REQ_UNKNOWN);
    static const char *const unknown[] = {"",          "task",        "task.",        "TASK.EXEC",
                                          "task.exec ", " task.exec", "task.exec\n",  "sandbox.settimeout",
                                          "sandbox",   "files.*",     "task.execute", "sandbox.created"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        if (sq_req_type_from_name(unknown[i]) != SQ_REQ_UNKNOWN)
            fail_msg("\"%s\" was taken for a request type", unknown[i]);
}

static void test_needs_task_and_kind(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        if (sq_req_type_needs_task(requests[i].type) != requests[i].needs_task)
            fail_msg("%s: needs_task %d, want %d", requests[i].name, sq_req_type_needs_task(requests[i].type),
                     requests[i].needs_task);
        const char *kind = sq_req_task_kind(requests[i].type);
        if (requests[i].kind)
            assert_string_equal(kind, requests[i].kind);
        else if (kind)
            fail_msg("%s: task kind \"%s\", want none", requests[i].name, kind);
    }
    assert_false(sq_req_type_needs_task(SQ_REQ_UNKNOWN));
    assert_false(sq_req_type_needs_task(SQ_REQ__COUNT));
    assert_null(sq_req_task_kind(SQ_REQ_UNKNOWN));
    assert_null(sq_req_task_kind(SQ_REQ__COUNT));
}

static void test_states(void **state)
{
    (void)state;
    static const struct {
        sq_state s;
        const char *name;
        const char *event;
        bool terminal;
    } states[] = {
        {SQ_STATE_QUEUED, "queued", "sandbox.created", false},
        {SQ_STATE_ASSIGNING, "assigning", "sandbox.assigned", false},
        {SQ_STATE_READY, "ready", "sandbox.ready", false},
        {SQ_STATE_ACTIVE, "active", "sandbox.active", false},
        {SQ_STATE_PAUSING, "pausing", "sandbox.pausing", false},
        {SQ_STATE_PAUSED, "paused", "sandbox.paused", false},
        {SQ_STATE_ENDING, "ending", "sandbox.ending", false},
        {SQ_STATE_ENDED, "ended", "sandbox.ended", true},
        {SQ_STATE_FAILED, "failed", "sandbox.failed", true},
    };
    /* Nine states, as the protocol says. */
    assert_int_equal(sizeof states / sizeof states[0], 9);
    assert_int_equal(SQ_STATE__COUNT - 1, 9);
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        assert_string_equal(sq_state_name(states[i].s), states[i].name);
        assert_int_equal(sq_state_from_name(states[i].name), states[i].s);
        assert_string_equal(sq_state_event_type(states[i].s), states[i].event);
        assert_int_equal(sq_state_is_terminal(states[i].s), states[i].terminal);
    }
    assert_null(sq_state_name(SQ_STATE_NONE));
    assert_null(sq_state_name(SQ_STATE__COUNT));
    assert_null(sq_state_event_type(SQ_STATE_NONE));
    assert_null(sq_state_event_type(SQ_STATE__COUNT));
    assert_false(sq_state_is_terminal(SQ_STATE_NONE));
    assert_int_equal(sq_state_from_name(NULL), SQ_STATE_NONE);
    assert_int_equal(sq_state_from_name(""), SQ_STATE_NONE);
    assert_int_equal(sq_state_from_name("Ready"), SQ_STATE_NONE);
    assert_int_equal(sq_state_from_name("resumed"), SQ_STATE_NONE);
    assert_int_equal(sq_state_from_name("sandbox.ready"), SQ_STATE_NONE);
}

static void test_error_code_names(void **state)
{
    (void)state;
    /* PROTOCOL.md "Error codes", in its order. */
    static const char *const names[] = {"invalid_request",
                                        "unsupported_version",
                                        "unknown_type",
                                        "sandbox_not_found",
                                        "sandbox_exists",
                                        "invalid_state",
                                        "forbidden",
                                        "capability_disabled",
                                        "path_outside_workspace",
                                        "not_found",
                                        "payload_too_large",
                                        "limit_exceeded",
                                        "timed_out",
                                        "canceled",
                                        "internal",
                                        "capability_unavailable", "checkpoint_not_found",
                                        "handoff_not_found", "worker_draining"};
    assert_int_equal(sizeof names / sizeof names[0], SQ_CODE__COUNT - 1);
    for (int c = 1; c < SQ_CODE__COUNT; c++) {
        assert_string_equal(sq_code_name((sq_code)c), names[c - 1]);
        assert_int_equal(sq_code_from_name(names[c - 1]), c);
    }
    assert_string_equal(sq_code_name(SQ_CODE__COUNT), "internal");
    assert_string_equal(sq_code_name((sq_code)-1), "internal");
    assert_int_equal(sq_code_from_name("no_such_code"), SQ_INTERNAL);
    assert_int_equal(sq_code_from_name(NULL), SQ_INTERNAL);
}

static void test_err_helpers(void **state)
{
    (void)state;
    sq_err err;
    sq_err_clear(&err);
    assert_int_equal(err.code, SQ_OK);
    assert_int_equal(sq_err_field(&err, SQ_INVALID_REQUEST, "body.command", "%s is required", "body.command"), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, "body.command");
    assert_string_equal(err.msg, "body.command is required");
    assert_int_equal(sq_err_wrap(&err, "request %d", 7), -1);
    assert_string_equal(err.msg, "request 7: body.command is required");
    assert_string_equal(err.field, "body.command");
    assert_int_equal(sq_err_set(&err, SQ_FORBIDDEN, "tenant mismatch"), -1);
    assert_string_equal(err.field, "");
    /* A NULL err is allowed everywhere and still reports failure. */
    assert_int_equal(sq_err_set(NULL, SQ_INTERNAL, "x"), -1);
    assert_int_equal(sq_err_field(NULL, SQ_INTERNAL, "f", "x"), -1);
}

static void test_topics_and_regions(void **state)
{
    (void)state;
    char t[SQ_TOPIC_MAX];
    sq_topic_requests("sandq", NULL, t);
    assert_string_equal(t, "sandq.requests");
    sq_topic_requests("sandq", "", t);
    assert_string_equal(t, "sandq.requests");
    sq_topic_requests("sandq", "iad", t);
    assert_string_equal(t, "sandq.requests.iad");
    sq_topic_events("acme-prod", t);
    assert_string_equal(t, "acme-prod.events");
    sq_topic_dlq("sandq", t);
    assert_string_equal(t, "sandq.dlq");

    assert_true(sq_region_valid("iad"));
    assert_true(sq_region_valid("fra"));
    assert_false(sq_region_valid("IAD"));
    assert_false(sq_region_valid("ia"));
    assert_false(sq_region_valid("iadx"));
    assert_false(sq_region_valid("i4d"));
    assert_false(sq_region_valid(""));
    assert_false(sq_region_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_type_names_round_trip),
        cmocka_unit_test(test_request_type_unknown),
        cmocka_unit_test(test_needs_task_and_kind),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_error_code_names),
        cmocka_unit_test(test_err_helpers),
        cmocka_unit_test(test_topics_and_regions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
