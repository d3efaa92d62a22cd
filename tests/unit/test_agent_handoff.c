/* test_agent_handoff.c — the agent's request_handoff tool, its pure part
 * (caps/agent/handoff_rules.h): the model's arguments checked and turned into
 * a handoff.request body, and the text the model gets back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caps/agent/handoff_rules.h"

static json_t *body_of(const char *args_text, char *why, size_t n)
{
    json_t *args = json_loads(args_text, 0, NULL);
    assert_non_null(args);
    json_t *b = sq_agent_handoff_body(args, "hnd_01M8E51QDZ10VX4RD7NCXA5S7S", why, n);
    json_decref(args);
    return b;
}

static void test_body(void **state)
{
    (void)state;
    char why[300];
    json_t *b = body_of("{\"reason\":\"login_failed\",\"message\":\"log in\",\"resumePrompt\":\"go on\","
                        "\"expiresInMs\":5000}",
                        why, sizeof why);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "handoffId")), "hnd_01M8E51QDZ10VX4RD7NCXA5S7S");
    assert_string_equal(json_string_value(json_object_get(b, "reason")), "login_failed");
    assert_string_equal(json_string_value(json_object_get(b, "message")), "log in");
    assert_string_equal(json_string_value(json_object_get(b, "resumePrompt")), "go on");
    assert_int_equal(json_integer_value(json_object_get(b, "expiresInMs")), 5000);
    json_decref(b);
    /* Optional ones left out (or null) are not in the body: the defaults apply. */
    b = body_of("{\"reason\":\"mfa\",\"message\":\"code\",\"resumePrompt\":null}", why, sizeof why);
    assert_non_null(b);
    assert_int_equal(json_object_size(b), 3);
    json_decref(b);

    assert_null(body_of("{\"reason\":\"MFA\",\"message\":\"code\"}", why, sizeof why));
    assert_non_null(strstr(why, "reason must be one of mfa"));
    assert_null(body_of("{\"reason\":\"mfa\",\"message\":\"\"}", why, sizeof why));
    assert_non_null(strstr(why, "message must be a non-empty string"));
    assert_null(body_of("{\"reason\":\"mfa\",\"message\":\"m\",\"expiresInMs\":0}", why, sizeof why));
    assert_non_null(strstr(why, "expiresInMs must be a positive integer"));
    assert_null(body_of("{\"reason\":\"mfa\",\"message\":\"m\",\"expiresInMs\":2592000001}", why, sizeof why));
    assert_null(body_of("{\"reason\":\"mfa\",\"message\":\"m\",\"resumePrompt\":7}", why, sizeof why));
    assert_non_null(strstr(why, "resumePrompt must be a string"));
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    json_t *args = json_pack("{s:s, s:s}", "reason", "custom", "message", big);
    assert_null(sq_agent_handoff_body(args, "hnd_x", why, sizeof why));
    json_decref(args);
    free(big);
}

static void test_result(void **state)
{
    (void)state;
    json_t *d = json_pack("{s:s, s:s, s:s}", "note", "logged in as alice", "resumePrompt", "check the dashboard",
                          "previewUrl", "http://h/preview/sbx_1?m=control&e=1&s=SIGNATURE");
    char *t = sq_agent_handoff_result(SQ_HANDOFF_COMPLETED, d);
    assert_non_null(strstr(t, "Their note: logged in as alice"));
    assert_non_null(strstr(t, "Now resume: check the dashboard"));
    assert_null(strstr(t, "SIGNATURE")); /* the control URL never reaches the model */
    free(t);
    json_decref(d);
    d = json_object();
    t = sq_agent_handoff_result(SQ_HANDOFF_COMPLETED, d);
    assert_non_null(strstr(t, "Their note: (none)"));
    assert_non_null(strstr(t, "continue the task"));
    free(t);
    t = sq_agent_handoff_result(SQ_HANDOFF_CANCELLED, d);
    assert_non_null(strstr(t, "was cancelled"));
    free(t);
    t = sq_agent_handoff_result(SQ_HANDOFF_EXPIRED, d);
    assert_non_null(strstr(t, "expired"));
    free(t);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_body), cmocka_unit_test(test_result)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
