/* test_agent_rules.c — the agent's pure rules (worker/src/caps/agent/rules.c):
 * tools per agent, tool-call checks (unknown, mis-cased, read-only agent,
 * malformed and non-object arguments, a missing or mistyped argument),
 * repeated calls broken at the third, the loop's turns (answer, step cap and
 * its summarising turn, token ceiling), the retry verdicts, Retry-After and
 * the wait schedule,
 * head + tail truncation, edit's exact replacement, redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caps/agent/rules.h"

static void test_agents_and_tools_json(void **state)
{
    (void)state;
    assert_int_equal(sq_agent_kind_from("build"), SQ_AGENT_BUILD);
    assert_int_equal(sq_agent_kind_from("plan"), SQ_AGENT_PLAN);
    assert_int_equal(sq_agent_kind_from("Plan"), -1);
    json_t *b = sq_agent_tools_json(SQ_AGENT_BUILD, false), *p = sq_agent_tools_json(SQ_AGENT_PLAN, true);
    assert_int_equal(json_array_size(b), 7);
    assert_int_equal(json_array_size(p), 4);
    size_t i;
    json_t *t;
    json_array_foreach(p, i, t)
    {
        const char *name = json_string_value(json_object_get(json_object_get(t, "function"), "name"));
        assert_true(strcmp(name, "read") == 0 || strcmp(name, "list") == 0 || strcmp(name, "glob") == 0 ||
                    strcmp(name, "grep") == 0);
    }
    json_t *bash = json_object_get(json_array_get(b, 0), "function");
    assert_string_equal(json_string_value(json_object_get(bash, "name")), "bash");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(bash, "parameters"),
                                                                         "required"), 0)),
                        "command");
    json_decref(b);
    json_decref(p);
    /* With a browser, build has it and request_handoff too (9 tools); plan never does. */
    b = sq_agent_tools_json(SQ_AGENT_BUILD, true);
    assert_int_equal(json_array_size(b), 9);
    json_t *br = json_object_get(json_array_get(b, 7), "function");
    assert_string_equal(json_string_value(json_object_get(br, "name")), "browser");
    assert_int_equal(json_object_size(json_object_get(json_object_get(br, "parameters"), "properties")), 6);
    json_t *ho = json_object_get(json_array_get(b, 8), "function");
    assert_string_equal(json_string_value(json_object_get(ho, "name")), "request_handoff");
    json_t *hreq = json_object_get(json_object_get(ho, "parameters"), "required");
    assert_int_equal(json_array_size(hreq), 2);
    assert_string_equal(json_string_value(json_array_get(hreq, 0)), "reason");
    assert_string_equal(json_string_value(json_array_get(hreq, 1)), "message");
    json_decref(b);
    p = sq_agent_tools_json(SQ_AGENT_PLAN, true);
    assert_int_equal(json_array_size(p), 4);
    json_decref(p);
}

static void test_check_call(void **state)
{
    (void)state;
    json_t *a;
    char why[512];
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "bash", "{\"command\":\"ls\"}", &a, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(a, "command")), "ls");
    json_decref(a);
    /* Empty arguments: an empty object (list needs nothing). */
    assert_int_equal(sq_agent_check_call(SQ_AGENT_PLAN, false, "list", "", &a, why, sizeof why), 0);
    json_decref(a);

    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "Bash", "{}", &a, why, sizeof why), -1);
    assert_null(a);
    assert_non_null(strstr(why, "did you mean \"bash\""));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "python", "{}", &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "no tool named \"python\""));
    assert_non_null(strstr(why, "bash, read, write, edit, list, glob, grep"));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "", "{}", &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "no tool name"));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_PLAN, false, "write", "{\"path\":\"a\",\"content\":\"b\"}", &a, why,
                                         sizeof why),
                     -1);
    assert_non_null(strstr(why, "read-only"));
    /* Plan does not have bash either, and is not offered it by case. */
    assert_int_equal(sq_agent_check_call(SQ_AGENT_PLAN, false, "BASH", "{}", &a, why, sizeof why), -1);
    assert_null(strstr(why, "did you mean"));

    /* browser: only with a browser, only for build. */
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "browser", "{\"action\":\"content\"}", &a, why,
                                         sizeof why),
                     -1);
    assert_non_null(strstr(why, "no tool named \"browser\""));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, true, "browser", "{\"action\":\"content\"}", &a, why,
                                         sizeof why),
                     0);
    json_decref(a);
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, true, "Browser", "{}", &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "did you mean \"browser\""));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_PLAN, true, "browser", "{\"action\":\"goto\"}", &a, why,
                                         sizeof why),
                     -1);
    assert_non_null(strstr(why, "read-only"));
    /* request_handoff: the same rule as browser. */
    const char *ho = "{\"reason\":\"mfa\",\"message\":\"enter the code\"}";
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "request_handoff", ho, &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "no tool named \"request_handoff\""));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, true, "request_handoff", ho, &a, why, sizeof why), 0);
    json_decref(a);
    assert_int_equal(sq_agent_check_call(SQ_AGENT_PLAN, true, "request_handoff", ho, &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "read-only"));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, true, "request_handoff", "{\"reason\":\"mfa\"}", &a, why,
                                         sizeof why),
                     -1);
    assert_non_null(strstr(why, "needs the argument \"message\""));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "bash", "{\"command\": \"ls\"", &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "not valid JSON"));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "bash", "[\"ls\"]", &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "must be a JSON object"));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "bash", "{\"cmd\":\"ls\"}", &a, why, sizeof why), -1);
    assert_non_null(strstr(why, "needs the argument \"command\""));
    assert_int_equal(sq_agent_check_call(SQ_AGENT_BUILD, false, "read", "{\"path\":\"a\",\"offset\":\"3\"}", &a, why,
                                         sizeof why),
                     -1);
    assert_non_null(strstr(why, "\"offset\" of read must be a integer") ?: strstr(why, "must be a"));
}

static void test_repeats(void **state)
{
    (void)state;
    sq_agent_repeat r = {0};
    json_t *a = json_pack("{s:s, s:i}", "command", "ls", "timeout", 5);
    json_t *same = json_pack("{s:i, s:s}", "timeout", 5, "command", "ls"); /* other key order: same call */
    json_t *other = json_pack("{s:s}", "command", "pwd");
    assert_false(sq_agent_repeat_note(&r, "bash", a));
    assert_false(sq_agent_repeat_note(&r, "bash", same));
    assert_true(sq_agent_repeat_note(&r, "bash", a));
    /* Counting starts over after a break, and any other call resets it. */
    assert_false(sq_agent_repeat_note(&r, "bash", a));
    assert_false(sq_agent_repeat_note(&r, "bash", other));
    assert_false(sq_agent_repeat_note(&r, "bash", a));
    assert_false(sq_agent_repeat_note(&r, "read", a));
    assert_false(sq_agent_repeat_note(&r, "bash", a));
    sq_agent_repeat_free(&r);
    json_decref(a);
    json_decref(same);
    json_decref(other);
}

static void test_retry_verdicts(void **state)
{
    (void)state;
    assert_int_equal(sq_agent_http_verdict(200), SQ_MODEL_OK);
    long retry[] = {408, 429, 500, 502, 503};
    for (size_t i = 0; i < sizeof retry / sizeof *retry; i++)
        assert_int_equal(sq_agent_http_verdict(retry[i]), SQ_MODEL_RETRY);
    long fail[] = {400, 401, 402, 403, 404, 413};
    for (size_t i = 0; i < sizeof fail / sizeof *fail; i++)
        assert_int_equal(sq_agent_http_verdict(fail[i]), SQ_MODEL_FAIL);
    assert_int_equal(sq_agent_retry_after_ms("2", 0), 2000);
    assert_int_equal(sq_agent_retry_after_ms(" 0.5\r\n", 0), 500);
    assert_int_equal(sq_agent_retry_after_ms(NULL, 0), -1);
    assert_int_equal(sq_agent_retry_after_ms("soon", 0), -1);
    assert_int_equal(sq_agent_retry_after_ms("-3", 0), -1);
    /* Sun, 06 Nov 1994 08:49:37 GMT is 784111777. */
    assert_int_equal(sq_agent_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7000);
    assert_int_equal(sq_agent_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111800), 0);
}

/* The loop's turns: answer on a reply without calls; after max_steps turns
 * with calls, one summarising turn whose calls are not run; the token
 * ceiling from usage. */
static void test_loop_turns(void **state)
{
    (void)state;
    sq_agent_budget b = {.max_steps = SQ_AGENT_DEFAULT_MAX_STEPS, .max_tokens = 1000};
    assert_int_equal(b.max_steps, 50);
    assert_int_equal(sq_agent_before_call(&b), SQ_AGENT_ASK);
    assert_int_equal(sq_agent_after_reply(&b, SQ_AGENT_ASK, 2, 100, 10), SQ_AGENT_RUN_CALLS);
    assert_int_equal(sq_agent_after_calls(&b), SQ_AGENT_GO_ON);
    assert_int_equal(sq_agent_after_reply(&b, SQ_AGENT_ASK, 0, 100, 10), SQ_AGENT_ANSWER);
    assert_int_equal(b.steps, 2);
    assert_int_equal(b.tokens, 220);

    b = (sq_agent_budget){.max_steps = 2, .max_tokens = 1000000};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sq_agent_before_call(&b), SQ_AGENT_ASK);
        assert_int_equal(sq_agent_after_reply(&b, SQ_AGENT_ASK, 1, 10, 1), SQ_AGENT_RUN_CALLS);
    }
    assert_int_equal(sq_agent_before_call(&b), SQ_AGENT_SUMMARIZE);
    /* The summarising turn's tool calls are not run: its text is the answer. */
    assert_int_equal(sq_agent_after_reply(&b, SQ_AGENT_SUMMARIZE, 3, 10, 1), SQ_AGENT_ANSWER);
    assert_int_equal(b.steps, 3);

    b = (sq_agent_budget){.max_steps = 50, .max_tokens = 1000};
    sq_agent_after_reply(&b, SQ_AGENT_ASK, 1, 900, 100);
    assert_int_equal(sq_agent_after_calls(&b), SQ_AGENT_GO_ON); /* at the ceiling is not over it */
    sq_agent_after_reply(&b, SQ_AGENT_ASK, 1, 1, 0);
    assert_int_equal(sq_agent_after_calls(&b), SQ_AGENT_OVER_TOKENS);
    /* An endpoint that reports no usage (or nonsense) counts nothing. */
    b = (sq_agent_budget){.max_steps = 50, .max_tokens = 10};
    sq_agent_after_reply(&b, SQ_AGENT_ASK, 1, -5, 0);
    assert_int_equal(b.tokens, 0);
}

static void test_retry_schedule(void **state)
{
    (void)state;
    assert_true(sq_agent_retry_allowed(SQ_MODEL_RETRY, 0, 4));
    assert_true(sq_agent_retry_allowed(SQ_MODEL_RETRY, 3, 4));
    assert_false(sq_agent_retry_allowed(SQ_MODEL_RETRY, 4, 4));
    assert_false(sq_agent_retry_allowed(SQ_MODEL_FAIL, 0, 4));
    assert_false(sq_agent_retry_allowed(SQ_MODEL_RETRY, 0, 0));
    sq_backoff bo = sq_backoff_make(1000, 30000);
    /* Retry-After wins (even 0), capped; without it the schedule doubles. */
    assert_int_equal(sq_agent_retry_delay(2000, &bo, 30000), 2000);
    assert_int_equal(sq_agent_retry_delay(0, &bo, 30000), 0);
    assert_int_equal(sq_agent_retry_delay(120000, &bo, 30000), 30000);
    assert_int_equal(sq_agent_retry_delay(-1, &bo, 30000), 1000);
    assert_int_equal(sq_agent_retry_delay(-1, &bo, 30000), 2000);
    assert_int_equal(sq_agent_retry_delay(-1, &bo, 3000), 3000);
}

static void test_headtail(void **state)
{
    (void)state;
    sq_headtail h;
    assert_int_equal(sq_headtail_init(&h, 10, 6), 0);
    sq_headtail_add(&h, "0123", 4);
    size_t n;
    char *s = sq_headtail_text(&h, &n);
    assert_string_equal(s, "0123"); /* short output: untouched, no marker */
    free(s);
    for (int i = 0; i < 100; i++)
        sq_headtail_add(&h, "abcdefg", 7);
    sq_headtail_add(&h, "XYZ", 3);
    s = sq_headtail_text(&h, &n);
    assert_int_equal(h.total, 4 + 700 + 3);
    assert_memory_equal(s, "0123abcdef", 10);
    assert_non_null(strstr(s, "[691 bytes of output omitted]"));
    assert_string_equal(s + n - 6, "efgXYZ");
    free(s);
    sq_headtail_free(&h);

    /* One big write larger than both. */
    assert_int_equal(sq_headtail_init(&h, 3, 3), 0);
    sq_headtail_add(&h, "abcdefghij", 10);
    s = sq_headtail_text(&h, &n);
    assert_memory_equal(s, "abc", 3);
    assert_string_equal(s + n - 3, "hij");
    assert_non_null(strstr(s, "[4 bytes"));
    free(s);
    sq_headtail_free(&h);
}

static void test_edit(void **state)
{
    (void)state;
    const char *text = "alpha\nbeta\ngamma\nbeta\n";
    char *out;
    size_t n;
    int count;
    char why[256];
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "gamma", "GAMMA", false, &out, &n, &count, why,
                                         sizeof why),
                     0);
    assert_string_equal(out, "alpha\nbeta\nGAMMA\nbeta\n");
    assert_int_equal(count, 1);
    free(out);
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "beta", "B", false, &out, &n, &count, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "occurs 2 times"));
    assert_null(out);
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "beta", "B", true, &out, &n, &count, why, sizeof why), 0);
    assert_string_equal(out, "alpha\nB\ngamma\nB\n");
    assert_int_equal(count, 2);
    free(out);
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "delta", "D", false, &out, &n, &count, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "not found"));
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "", "D", false, &out, &n, &count, why, sizeof why), -1);
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "beta", "beta", true, &out, &n, &count, why, sizeof why),
                     -1);
    /* Whitespace counts: an indented copy is not a match. */
    assert_int_equal(sq_agent_edit_apply("  x = 1\n", 8, "x = 1\n ", "y", false, &out, &n, &count, why, sizeof why),
                     -1);
    /* Deleting is allowed (empty replacement). */
    assert_int_equal(sq_agent_edit_apply(text, strlen(text), "alpha\n", "", false, &out, &n, &count, why, sizeof why),
                     0);
    assert_string_equal(out, "beta\ngamma\nbeta\n");
    free(out);
}

static void test_redact_and_summary(void **state)
{
    (void)state;
    const char *secrets[] = {"sk-or-v1-abcdef123456", "1", "hunter2hunter2", NULL};
    char *s = sq_agent_redact("key sk-or-v1-abcdef123456 and sk-or-v1-abcdef123456; pw hunter2hunter2 x1", secrets);
    assert_string_equal(s, "key [REDACTED] and [REDACTED]; pw [REDACTED] x1");
    free(s);
    assert_true(sq_agent_secret_name("OPENROUTER_API_KEY"));
    assert_true(sq_agent_secret_name("github_token"));
    assert_false(sq_agent_secret_name("OPENROUTER_MODEL"));

    char out[13];
    json_t *a = json_pack("{s:s}", "command", "echo héllo\nworld and more");
    sq_agent_step_summary("bash", a, out, sizeof out);
    assert_string_equal(out, "bash echo h"); /* é is not cut in half */
    json_decref(a);
    a = json_pack("{s:s}", "path", "a.txt");
    sq_agent_step_summary("read", a, out, sizeof out);
    assert_string_equal(out, "read a.txt");
    json_decref(a);
    char wide[64];
    a = json_pack("{s:s, s:s}", "action", "click", "selector", "#buy");
    sq_agent_step_summary("browser", a, wide, sizeof wide);
    assert_string_equal(wide, "browser click #buy");
    json_decref(a);
}

static void test_utf8_sanitize(void **state)
{
    (void)state;
    char ok[] = "héllo ✓ 😀";
    assert_int_equal(sq_agent_utf8_sanitize(ok, strlen(ok)), 0);
    assert_string_equal(ok, "héllo ✓ 😀");
    /* A character cut in half at either end (head + tail truncation), a lone
     * continuation byte, an overlong, a surrogate, a NUL. */
    char bad[] = "\xa9" "ab" "\xc3";
    assert_int_equal(sq_agent_utf8_sanitize(bad, 4), 2);
    assert_string_equal(bad, "?ab?");
    char over[] = "\xc0\xafx\xed\xa0\x80y";
    assert_int_equal(sq_agent_utf8_sanitize(over, 7), 5);
    assert_string_equal(over, "??x???y");
    char nul[4] = {'a', 0, 'b', 0};
    assert_int_equal(sq_agent_utf8_sanitize(nul, 3), 1);
    assert_string_equal(nul, "a?b");
    /* Cutting every possible way keeps the text valid. */
    const char *t = "aé✓😀b";
    for (size_t cut = 0; cut <= strlen(t); cut++) {
        char buf[32];
        memcpy(buf, t + cut, strlen(t) - cut + 1);
        sq_agent_utf8_sanitize(buf, strlen(buf));
        json_t *j = json_string(buf);
        assert_non_null(j);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agents_and_tools_json), cmocka_unit_test(test_check_call),
        cmocka_unit_test(test_repeats),              cmocka_unit_test(test_retry_verdicts),
        cmocka_unit_test(test_headtail),             cmocka_unit_test(test_edit),
        cmocka_unit_test(test_redact_and_summary),   cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_loop_turns),           cmocka_unit_test(test_retry_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
