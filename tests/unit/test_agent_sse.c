/* test_agent_sse.c — the agent's stream parser and reply builder
 * (worker/src/caps/agent/sse.c, chat.c): events split across reads at every
 * byte, comment lines, [DONE], CRLF, tool-call fragments joined by index,
 * content null, usage and cost, and errors carried by an HTTP 200. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caps/agent/chat.h"
#include "caps/agent/sse.h"

static int to_reply(void *user, const char *data, size_t len)
{
    return sq_chat_apply_chunk(user, data, len);
}

/* A stream as OpenRouter sends it: a keep-alive comment, a content delta, a
 * parallel pair of tool calls whose arguments come in pieces, a usage chunk. */
static const char stream[] =
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Let me \"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"look.\"}}]}\n\n"
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
    "\"function\":{\"name\":\"bash\",\"arguments\":\"\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\","
    "\"function\":{\"name\":\"read\",\"arguments\":\"{\\\"pa\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"command\\\":\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"ls\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"th\\\":\\\"a.txt\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,\"cost\":0.0015}}\n\n"
    "data: [DONE]\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"after done\"}}]}\n\n";

static void check_reply(const sq_chat_reply *r)
{
    assert_false(r->is_error);
    assert_string_equal(r->content, "Let me look.");
    assert_int_equal(r->ncalls, 2);
    assert_string_equal(r->calls[0].id, "call_a");
    assert_string_equal(r->calls[0].name, "bash");
    assert_string_equal(r->calls[0].args, "{\"command\":\"ls\"}");
    assert_string_equal(r->calls[1].id, "call_b");
    assert_string_equal(r->calls[1].name, "read");
    assert_string_equal(r->calls[1].args, "{\"path\":\"a.txt\"}");
    assert_string_equal(r->finish, "tool_calls");
    assert_true(r->has_usage);
    assert_int_equal(r->prompt_tokens, 120);
    assert_int_equal(r->completion_tokens, 30);
    assert_true(r->has_cost);
    assert_true(r->cost > 0.0014 && r->cost < 0.0016);
}

static void test_whole_stream(void **state)
{
    (void)state;
    sq_sse s;
    sq_sse_init(&s);
    sq_chat_reply r = {0};
    assert_int_equal(sq_sse_feed(&s, stream, sizeof stream - 1, to_reply, &r), 0);
    assert_true(s.done);
    assert_int_equal(sq_sse_finish(&s, to_reply, &r), 0);
    check_reply(&r);
    sq_chat_reply_free(&r);
    sq_sse_free(&s);
}

/* Every possible split in two, and byte by byte: the same reply. */
static void test_split_anywhere(void **state)
{
    (void)state;
    size_t n = sizeof stream - 1;
    for (size_t cut = 1; cut < n; cut += 7) {
        sq_sse s;
        sq_sse_init(&s);
        sq_chat_reply r = {0};
        assert_int_equal(sq_sse_feed(&s, stream, cut, to_reply, &r), 0);
        assert_int_equal(sq_sse_feed(&s, stream + cut, n - cut, to_reply, &r), 0);
        check_reply(&r);
        sq_chat_reply_free(&r);
        sq_sse_free(&s);
    }
    sq_sse s;
    sq_sse_init(&s);
    sq_chat_reply r = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sq_sse_feed(&s, stream + i, 1, to_reply, &r), 0);
    check_reply(&r);
    sq_chat_reply_free(&r);
    sq_sse_free(&s);
}

static int count_events(void *user, const char *data, size_t len)
{
    (void)data;
    (void)len;
    (*(int *)user)++;
    return 0;
}

static void test_crlf_multiline_and_fields(void **state)
{
    (void)state;
    static const char text[] = "event: message\r\nid: 7\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nretry: 10\r\n\r\n";
    sq_sse s;
    sq_sse_init(&s);
    int n = 0;
    /* CR and LF of one line end arrive in different reads. */
    for (size_t i = 0; i < sizeof text - 1; i++)
        assert_int_equal(sq_sse_feed(&s, text + i, 1, count_events, &n), 0);
    assert_int_equal(n, 1);
    assert_false(s.done);
    sq_sse_free(&s);

    /* A stream cut without its blank line: the last event still counts. */
    sq_sse_init(&s);
    n = 0;
    assert_int_equal(sq_sse_feed(&s, "data: {}", 8, count_events, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sq_sse_finish(&s, count_events, &n), 0);
    assert_int_equal(n, 1);
    sq_sse_free(&s);
}

static void test_bounds(void **state)
{
    (void)state;
    sq_sse s;
    sq_sse_init(&s);
    int n = 0;
    char *big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++)
        rc = sq_sse_feed(&s, big, 1 << 20, count_events, &n);
    assert_int_equal(rc, -1);
    assert_true(s.too_large);
    free(big);
    sq_sse_free(&s);
}

static void test_error_in_stream_and_200_body(void **state)
{
    (void)state;
    sq_chat_reply r = {0};
    static const char chunk[] = "{\"error\":{\"message\":\"Provider returned error\",\"code\":502}}";
    assert_int_equal(sq_chat_apply_chunk(&r, chunk, sizeof chunk - 1), -1);
    assert_true(r.is_error);
    assert_int_equal(r.error_status, 502);
    assert_string_equal(r.error, "Provider returned error");
    sq_chat_reply_free(&r);

    static const char body[] = "{\"error\":{\"message\":\"No endpoints found for model x\",\"code\":404}}";
    assert_int_equal(sq_chat_apply_full(&r, body, sizeof body - 1), -1);
    assert_true(r.is_error);
    assert_string_equal(r.error, "No endpoints found for model x");
    sq_chat_reply_free(&r);

    static const char fin[] = "{\"choices\":[{\"delta\":{},\"finish_reason\":\"error\"}]}";
    assert_int_equal(sq_chat_apply_chunk(&r, fin, sizeof fin - 1), -1);
    assert_true(r.is_error);
    sq_chat_reply_free(&r);

    assert_int_equal(sq_chat_apply_chunk(&r, "not json", 8), -1);
    assert_true(r.is_error);
    sq_chat_reply_free(&r);

    char msg[128];
    int code;
    sq_chat_error_text("{\"error\":{\"message\":\"bad key\",\"code\":401}}", 42, msg, sizeof msg, &code);
    assert_string_equal(msg, "bad key");
    assert_int_equal(code, 401);
    sq_chat_error_text("<html>\nGateway</html>", 21, msg, sizeof msg, &code);
    assert_string_equal(msg, "<html> Gateway</html>");
}

static void test_full_answer_null_content_and_message(void **state)
{
    (void)state;
    static const char body[] =
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"list\",\"arguments\":\"{}\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"glob\",\"arguments\":{\"pattern\":\"*.c\"}}}]},"
        "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}";
    sq_chat_reply r = {0};
    assert_int_equal(sq_chat_apply_full(&r, body, sizeof body - 1), 0);
    assert_null(r.content);
    assert_int_equal(r.ncalls, 2);
    assert_string_equal(r.calls[1].args, "{\"pattern\":\"*.c\"}");
    assert_false(r.has_cost);
    json_t *m = sq_chat_reply_message(&r, 3);
    assert_true(json_is_null(json_object_get(m, "content")));
    json_t *calls = json_object_get(m, "tool_calls");
    assert_int_equal(json_array_size(calls), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 0), "id")), "c1");
    /* A call without an id gets one, so its result can name it. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(calls, 1), "id")), "call_s3_1");
    json_decref(m);
    sq_chat_reply_free(&r);

    static const char none[] = "{\"id\":\"x\"}";
    assert_int_equal(sq_chat_apply_full(&r, none, sizeof none - 1), -1);
    sq_chat_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream),
        cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_crlf_multiline_and_fields),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_error_in_stream_and_200_body),
        cmocka_unit_test(test_full_answer_null_content_and_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
