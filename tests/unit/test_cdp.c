/* test_cdp.c — the pure half of the browser's CDP client
 * (worker/src/caps/browser/cdp_frame.c, cdp_calls.c): NUL framing across
 * arbitrary read boundaries and its size bound, and matching answers and
 * events to their waiters, with flattened sessionIds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caps/browser/cdp_calls.h"
#include "caps/browser/cdp_frame.h"

static char *next(sq_cdp_frame *f)
{
    size_t len = 0;
    char *m = sq_cdp_frame_next(f, &len);
    if (m)
        assert_int_equal(strlen(m), len);
    return m;
}

static void test_frame_splits_on_nul_across_reads(void **state)
{
    (void)state;
    sq_cdp_frame f;
    sq_cdp_frame_init(&f, 0);
    static const char stream[] = "{\"id\":1}\0{\"method\":\"Page.loadEventFired\"}\0{\"id\":2,\"result\":{}}";
    size_t total = sizeof stream - 1; /* the last message has no NUL yet */
    /* Byte by byte: a message is whole only once its NUL has arrived. */
    int whole = 0;
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(sq_cdp_frame_append(&f, stream + i, 1), 0);
        char *m;
        while ((m = next(&f))) {
            whole++;
            if (whole == 1)
                assert_string_equal(m, "{\"id\":1}");
            else
                assert_string_equal(m, "{\"method\":\"Page.loadEventFired\"}");
            free(m);
        }
    }
    assert_int_equal(whole, 2);
    assert_null(next(&f));
    assert_int_equal(sq_cdp_frame_append(&f, "\0", 1), 0);
    char *m = next(&f);
    assert_string_equal(m, "{\"id\":2,\"result\":{}}");
    free(m);
    assert_null(next(&f));
    sq_cdp_frame_free(&f);
}

static void test_frame_skips_empty_messages_and_pops_several(void **state)
{
    (void)state;
    sq_cdp_frame f;
    sq_cdp_frame_init(&f, 0);
    assert_int_equal(sq_cdp_frame_append(&f, "\0\0a\0\0b\0", 7), 0);
    char *a = next(&f), *b = next(&f);
    assert_string_equal(a, "a");
    assert_string_equal(b, "b");
    assert_null(next(&f));
    free(a);
    free(b);
    sq_cdp_frame_free(&f);
}

static void test_frame_refuses_a_message_over_the_bound(void **state)
{
    (void)state;
    sq_cdp_frame f;
    sq_cdp_frame_init(&f, 16);
    char junk[10];
    memset(junk, 'x', sizeof junk);
    /* 20 bytes without a NUL: over the 16-byte bound, the next reserve fails. */
    assert_int_equal(sq_cdp_frame_append(&f, junk, sizeof junk), 0);
    assert_null(next(&f));
    assert_int_equal(sq_cdp_frame_append(&f, junk, sizeof junk), 0);
    assert_null(next(&f));
    assert_int_equal(sq_cdp_frame_reserve(&f, 1), -1);
    sq_cdp_frame_free(&f);

    /* Within the bound, many messages one after another never trip it. */
    sq_cdp_frame_init(&f, 16);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sq_cdp_frame_append(&f, "{\"id\":7}\0", 9), 0);
        char *m = next(&f);
        assert_string_equal(m, "{\"id\":7}");
        free(m);
    }
    sq_cdp_frame_free(&f);
}

static void test_frame_encode_appends_nul(void **state)
{
    (void)state;
    size_t len;
    char *e = sq_cdp_frame_encode("{}", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(e, "{}\0", 3);
    free(e);
}

static json_t *parse(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    assert_non_null(j);
    return j;
}

static int offer(sq_cdp_waiters *ws, const char *s)
{
    json_t *j = parse(s);
    int slot = sq_cdp_offer(ws, j);
    json_decref(j);
    return slot;
}

static void test_responses_match_their_call_ids(void **state)
{
    (void)state;
    sq_cdp_waiters ws;
    sq_cdp_waiters_init(&ws);
    int64_t a = sq_cdp_next_id(&ws), b = sq_cdp_next_id(&ws);
    assert_true(a > 0 && b == a + 1);
    int sa = sq_cdp_expect_response(&ws, a), sb = sq_cdp_expect_response(&ws, b);
    assert_true(sa >= 0 && sb >= 0 && sa != sb);
    /* Out of order, and a late answer to a call no one waits for any more. */
    assert_int_equal(offer(&ws, "{\"id\":99,\"result\":{}}"), -1);
    assert_int_equal(offer(&ws, "{\"id\":2,\"result\":{\"v\":2},\"sessionId\":\"S1\"}"), sb);
    assert_false(sq_cdp_done(&ws, sa));
    assert_true(sq_cdp_done(&ws, sb));
    assert_int_equal(offer(&ws, "{\"id\":1,\"error\":{\"code\":-32000,\"message\":\"Cannot navigate\"}}"), sa);
    json_t *mb = sq_cdp_take(&ws, sb), *ma = sq_cdp_take(&ws, sa);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(mb, "result"), "v")), 2);
    char why[128];
    assert_true(sq_cdp_response_error(ma, why, sizeof why));
    assert_non_null(strstr(why, "Cannot navigate"));
    assert_false(sq_cdp_response_error(mb, why, sizeof why));
    json_decref(ma);
    json_decref(mb);
    /* A slot once taken is free again; a second answer with the same id goes nowhere. */
    assert_int_equal(offer(&ws, "{\"id\":1,\"result\":{}}"), -1);
    sq_cdp_waiters_clear(&ws);
}

static void test_events_match_method_and_session(void **state)
{
    (void)state;
    sq_cdp_waiters ws;
    sq_cdp_waiters_init(&ws);
    int page = sq_cdp_expect_event(&ws, "Page.loadEventFired", "S1");
    int browser = sq_cdp_expect_event(&ws, "Target.targetCreated", NULL);
    /* Another page's load, and the browser-level event on a session: not ours. */
    assert_int_equal(offer(&ws, "{\"method\":\"Page.loadEventFired\",\"params\":{},\"sessionId\":\"S2\"}"), -1);
    assert_int_equal(offer(&ws, "{\"method\":\"Target.targetCreated\",\"params\":{},\"sessionId\":\"S1\"}"), -1);
    assert_int_equal(offer(&ws, "{\"method\":\"Page.loadEventFired\",\"params\":{\"timestamp\":1}}"), -1);
    assert_int_equal(offer(&ws, "{\"method\":\"Page.loadEventFired\",\"params\":{\"timestamp\":2},\"sessionId\":\"S1\"}"),
                     page);
    /* Satisfied once: the next one is no one's. */
    assert_int_equal(offer(&ws, "{\"method\":\"Page.loadEventFired\",\"params\":{},\"sessionId\":\"S1\"}"), -1);
    assert_int_equal(offer(&ws, "{\"method\":\"Target.targetCreated\",\"params\":{}}"), browser);
    json_t *m = sq_cdp_take(&ws, page);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "params"), "timestamp")), 2);
    json_decref(m);
    /* An event never matches a call waiter, and vice versa. */
    int call = sq_cdp_expect_response(&ws, sq_cdp_next_id(&ws));
    assert_int_equal(offer(&ws, "{\"method\":\"Page.loadEventFired\",\"params\":{}}"), -1);
    assert_false(sq_cdp_done(&ws, call));
    assert_int_equal(offer(&ws, "[1,2]"), -1);
    assert_int_equal(offer(&ws, "{\"id\":\"1\"}"), -1);
    sq_cdp_waiters_clear(&ws);
}

static void test_collecting_waiter_keeps_every_event_in_order(void **state)
{
    (void)state;
    sq_cdp_waiters ws;
    sq_cdp_waiters_init(&ws);
    int slot = sq_cdp_collect_events(&ws, "Page.lifecycleEvent", "S1");
    assert_true(slot >= 0);
    assert_int_equal(json_array_size(sq_cdp_collected(&ws, slot)), 0);
    /* An earlier page's load, then the new loader's events; another session's are not kept. */
    assert_int_equal(offer(&ws, "{\"method\":\"Page.lifecycleEvent\",\"params\":{\"name\":\"load\",\"loaderId\":\"OLD\"},"
                                "\"sessionId\":\"S1\"}"),
                     slot);
    assert_int_equal(offer(&ws, "{\"method\":\"Page.lifecycleEvent\",\"params\":{\"name\":\"load\",\"loaderId\":\"X\"},"
                                "\"sessionId\":\"S2\"}"),
                     -1);
    assert_int_equal(offer(&ws, "{\"method\":\"Page.lifecycleEvent\",\"params\":{\"name\":\"load\",\"loaderId\":\"NEW\"},"
                                "\"sessionId\":\"S1\"}"),
                     slot);
    assert_false(sq_cdp_done(&ws, slot)); /* collecting never completes by itself */
    const json_t *got = sq_cdp_collected(&ws, slot);
    assert_int_equal(json_array_size(got), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(got, 1), "params"), "loaderId")), "NEW");
    assert_null(sq_cdp_collected(&ws, slot + 1)); /* not a collecting slot */
    json_decref(sq_cdp_take(&ws, slot));
    assert_null(sq_cdp_collected(&ws, slot));
    sq_cdp_waiters_clear(&ws);
}

static void test_waiter_table_is_bounded(void **state)
{
    (void)state;
    sq_cdp_waiters ws;
    sq_cdp_waiters_init(&ws);
    for (int i = 0; i < SQ_CDP_MAX_WAITERS; i++)
        assert_true(sq_cdp_expect_response(&ws, sq_cdp_next_id(&ws)) >= 0);
    assert_int_equal(sq_cdp_expect_response(&ws, sq_cdp_next_id(&ws)), -1);
    assert_int_equal(sq_cdp_expect_event(&ws, "Page.loadEventFired", ""), -1);
    /* Freeing one (a timed-out call) makes room. */
    json_decref(sq_cdp_take(&ws, 3));
    assert_int_equal(sq_cdp_expect_event(&ws, "Page.loadEventFired", ""), 3);
    sq_cdp_waiters_clear(&ws);
    assert_int_equal(sq_cdp_expect_response(&ws, 0), -1); /* ids start at 1 */
}

static void test_request_text(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:s}", "url", "file:///workspace/a b.html");
    char *t = sq_cdp_request_text(5, "Page.navigate", p, "S1");
    json_t *j = parse(t);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "Page.navigate");
    assert_string_equal(json_string_value(json_object_get(j, "sessionId")), "S1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "url")),
                        "file:///workspace/a b.html");
    assert_null(memchr(t, '\0', strlen(t))); /* the frame's NUL is added by the framing */
    json_decref(j);
    free(t);
    /* The browser's own calls carry no sessionId; params default to {}. */
    t = sq_cdp_request_text(6, "Browser.getVersion", NULL, "");
    j = parse(t);
    assert_null(json_object_get(j, "sessionId"));
    assert_true(json_is_object(json_object_get(j, "params")));
    json_decref(j);
    free(t);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_splits_on_nul_across_reads),
        cmocka_unit_test(test_frame_skips_empty_messages_and_pops_several),
        cmocka_unit_test(test_frame_refuses_a_message_over_the_bound),
        cmocka_unit_test(test_frame_encode_appends_nul),
        cmocka_unit_test(test_responses_match_their_call_ids),
        cmocka_unit_test(test_events_match_method_and_session),
        cmocka_unit_test(test_collecting_waiter_keeps_every_event_in_order),
        cmocka_unit_test(test_waiter_table_is_bounded),
        cmocka_unit_test(test_request_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
