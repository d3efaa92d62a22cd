/* test_handoff_state.c — the hand-off book and the control mode
 * (worker/src/handoff/handoff_state.c): pending → accepted → completed, or
 * cancelled / expired; ai → human/shared → ai; one open hand-off at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "handoff/handoff_state.h"

#define H1 "hnd_01M8E51QDZ10VX4RD7NCXA5S7S"
#define H2 "hnd_01M8E51QDZ6R111WDWG528NAMY"

static json_t *req_body(const char *id, long long expires_in)
{
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "handoffId", id, "reason", "mfa", "message", "enter the code",
                          "resumePrompt", "carry on");
    if (expires_in > 0)
        json_object_set_new(b, "expiresInMs", json_integer(expires_in));
    return b;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_accept_complete(void **state)
{
    (void)state;
    sq_handoff_book b;
    sq_handoff_book_init(&b);
    sq_err why;
    json_t *body = req_body(H1, 0);
    int i = sq_handoff_request(&b, body, "sdk", 1000, &why);
    assert_int_equal(i, 0);
    json_t *d = b.items[i].data;
    assert_string_equal(s(d, "status"), "pending");
    assert_string_equal(s(d, "controlMode"), "ai");
    assert_string_equal(s(d, "requestedBy"), "sdk");
    assert_string_equal(s(d, "resumePrompt"), "carry on");
    assert_int_equal(json_integer_value(json_object_get(d, "expiresAt")), 1000 + SQ_HANDOFF_DEFAULT_EXPIRY_MS);
    assert_false(sq_handoff_human_may_act(&b));
    assert_true(sq_handoff_agent_may_act(&b));
    /* complete before accept: invalid_state */
    assert_int_equal(sq_handoff_complete(&b, H1, NULL, 1500, &why), -1);
    assert_int_equal(why.code, SQ_INVALID_STATE);
    assert_int_equal(sq_handoff_accept(&b, H1, "ada", SQ_CONTROL_HUMAN, 2000, &why), 0);
    assert_string_equal(s(d, "status"), "accepted");
    assert_string_equal(s(d, "controlMode"), "human");
    assert_string_equal(s(d, "controller"), "ada");
    assert_int_equal(json_integer_value(json_object_get(d, "acceptedAt")), 2000);
    assert_true(sq_handoff_human_may_act(&b));
    assert_false(sq_handoff_agent_may_act(&b));
    assert_int_equal(sq_handoff_accept(&b, H1, "bob", SQ_CONTROL_HUMAN, 2100, &why), -1);
    assert_int_equal(why.code, SQ_INVALID_STATE);
    assert_int_equal(sq_handoff_complete(&b, H1, "done", 3000, &why), 0);
    assert_string_equal(s(d, "status"), "completed");
    assert_string_equal(s(d, "controlMode"), "ai");
    assert_string_equal(s(d, "note"), "done");
    assert_int_equal(json_integer_value(json_object_get(d, "completedAt")), 3000);
    assert_int_equal(b.open, -1);
    assert_false(sq_handoff_human_may_act(&b));
    assert_int_equal(sq_handoff_cancel(&b, H1, 3100, &why), -1);
    assert_int_equal(why.code, SQ_INVALID_STATE);
    assert_int_equal(sq_handoff_next_expiry(&b), -1);
    json_decref(body);
    sq_handoff_book_free(&b);
}

static void test_one_open_and_not_found(void **state)
{
    (void)state;
    sq_handoff_book b;
    sq_handoff_book_init(&b);
    sq_err why;
    json_t *b1 = req_body(H1, 0), *b2 = req_body(H2, 0);
    assert_int_equal(sq_handoff_request(&b, b1, "agent", 0, &why), 0);
    assert_int_equal(sq_handoff_request(&b, b2, "sdk", 0, &why), -1);
    assert_int_equal(why.code, SQ_INVALID_STATE);
    assert_int_equal(sq_handoff_request(&b, b1, "sdk", 0, &why), -1); /* the same id again */
    assert_int_equal(why.code, SQ_INVALID_STATE);
    assert_int_equal(sq_handoff_accept(&b, H2, "ada", SQ_CONTROL_HUMAN, 0, &why), -1);
    assert_int_equal(why.code, SQ_HANDOFF_NOT_FOUND);
    assert_string_equal(why.field, "body.handoffId");
    assert_int_equal(sq_handoff_accept(&b, H1, "ada", SQ_CONTROL_SHARED, 0, &why), 0);
    assert_string_equal(s(b.items[0].data, "controlMode"), "shared");
    assert_true(sq_handoff_human_may_act(&b));
    assert_true(sq_handoff_agent_may_act(&b));
    assert_int_equal(sq_handoff_cancel(&b, H1, 5, &why), 0);
    assert_string_equal(s(b.items[0].data, "status"), "cancelled");
    assert_string_equal(s(b.items[0].data, "controlMode"), "ai");
    assert_int_equal(sq_handoff_request(&b, b2, "sdk", 6, &why), 1); /* the next one may open */
    json_decref(b1);
    json_decref(b2);
    sq_handoff_book_free(&b);
}

static void test_expiry(void **state)
{
    (void)state;
    sq_handoff_book b;
    sq_handoff_book_init(&b);
    sq_err why;
    json_t *body = req_body(H1, 500);
    assert_int_equal(sq_handoff_request(&b, body, "sdk", 1000, &why), 0);
    assert_int_equal(sq_handoff_next_expiry(&b), 1500);
    assert_int_equal(sq_handoff_expire_due(&b, 1499), -1);
    assert_int_equal(sq_handoff_accept(&b, H1, "ada", SQ_CONTROL_HUMAN, 1200, &why), 0);
    assert_int_equal(sq_handoff_expire_due(&b, 1500), 0); /* an accepted one expires too */
    assert_string_equal(s(b.items[0].data, "status"), "expired");
    assert_string_equal(s(b.items[0].data, "controlMode"), "ai");
    assert_int_equal(b.mode, SQ_CONTROL_AI);
    assert_int_equal(sq_handoff_expire_due(&b, 99999), -1);
    assert_int_equal(sq_handoff_complete(&b, H1, NULL, 1600, &why), -1);
    assert_int_equal(why.code, SQ_INVALID_STATE);
    json_decref(body);
    sq_handoff_book_free(&b);
}

/* The book keeps the newest SQ_HANDOFF_KEEP; the oldest finished ones go. */
static void test_keep(void **state)
{
    (void)state;
    sq_handoff_book b;
    sq_handoff_book_init(&b);
    sq_err why;
    char first[40] = "";
    for (int n = 0; n < SQ_HANDOFF_KEEP + 3; n++) {
        char id[40];
        snprintf(id, sizeof id, "hnd_01M8E51QDZ10VX4RD7NCXA5S%02d", n);
        if (!first[0])
            snprintf(first, sizeof first, "%s", id);
        json_t *body = req_body(id, 0);
        int i = sq_handoff_request(&b, body, "sdk", n, &why);
        assert_true(i >= 0);
        assert_int_equal(sq_handoff_cancel(&b, id, n, &why), i);
        json_decref(body);
    }
    assert_int_equal(b.count, SQ_HANDOFF_KEEP);
    assert_int_equal(sq_handoff_find(&b, first), -1);
    assert_int_equal(sq_handoff_cancel(&b, first, 0, &why), -1);
    assert_int_equal(why.code, SQ_HANDOFF_NOT_FOUND);
    sq_handoff_book_free(&b);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sq_handoff_event_type(SQ_HANDOFF_EXPIRED), "sandbox.handoff.expired");
    assert_string_equal(sq_handoff_status_name(SQ_HANDOFF_CANCELLED), "cancelled");
    sq_control_mode m;
    assert_true(sq_control_mode_parse("shared", &m));
    assert_int_equal(m, SQ_CONTROL_SHARED);
    assert_false(sq_control_mode_parse("robot", &m));
    assert_false(sq_control_mode_parse(NULL, &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_accept_complete), cmocka_unit_test(test_one_open_and_not_found),
                                       cmocka_unit_test(test_expiry), cmocka_unit_test(test_keep),
                                       cmocka_unit_test(test_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
