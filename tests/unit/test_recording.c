/* test_recording.c — recording's pure parts (worker/src/caps/recording/):
 * redaction of env values (whole strings, JSON, a stream cut anywhere), the
 * asciicast writer (header, escaping, invalid UTF-8, the size bound) and
 * what an audit row keeps of an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caps/recording/asciicast.h"
#include "caps/recording/audit_row.h"
#include "caps/recording/redact.h"

static json_t *js(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    return j;
}

static void test_redact_strings(void **state)
{
    (void)state;
    json_t *a = js("{\"TOKEN\": \"abcdef123\", \"SHORT\": \"ab\", \"LONG\": \"abcdef123-and-more\"}");
    json_t *b = js("{\"PW\": \"hunter22\"}");
    sq_redactor r;
    assert_int_equal(sq_redactor_init(&r, a, b), 0);
    assert_int_equal(r.n, 3); /* "ab" is below SQ_REDACT_MIN_LEN */
    size_t n;
    char *o = sq_redact(&r, "x abcdef123-and-more y abcdef123 hunter22 ab", 44, &n);
    /* the longer secret is replaced whole, not as TOKEN + a tail */
    assert_string_equal(o, "x [redacted] y [redacted] [redacted] ab");
    assert_int_equal(n, strlen(o));
    free(o);
    json_t *v = js("{\"argv\": [\"curl\", \"-H\", \"Bearer abcdef123\"], \"n\": 3}");
    json_t *red = sq_redact_json(&r, v);
    char *txt = json_dumps(red, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(txt, "{\"argv\":[\"curl\",\"-H\",\"Bearer [redacted]\"],\"n\":3}");
    free(txt);
    json_decref(red);
    json_decref(v);
    sq_redactor_free(&r);
    /* no env at all: everything passes */
    assert_int_equal(sq_redactor_init(&r, NULL, NULL), 0);
    o = sq_redact(&r, "abcdef123", 9, &n);
    assert_string_equal(o, "abcdef123");
    free(o);
    sq_redactor_free(&r);
    json_decref(a);
    json_decref(b);
}

/* The stream split at every position: the output never holds the secret. */
static void test_redact_stream_any_cut(void **state)
{
    (void)state;
    json_t *a = js("{\"TOKEN\": \"s3cr3t-value\"}");
    sq_redactor r;
    assert_int_equal(sq_redactor_init(&r, a, NULL), 0);
    const char *in = "before s3cr3t-value after s3cr3t-val";
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        char *o1, *o2;
        size_t n1, n2;
        size_t keep = sq_redact_stream(&r, in, cut, false, &o1, &n1);
        char buf[128];
        memcpy(buf, in + cut - keep, keep);
        memcpy(buf + keep, in + cut, len - cut);
        sq_redact_stream(&r, buf, keep + len - cut, true, &o2, &n2);
        char all[256];
        snprintf(all, sizeof all, "%.*s%.*s", (int)n1, o1, (int)n2, o2);
        assert_string_equal(all, "before [redacted] after s3cr3t-val");
        free(o1);
        free(o2);
    }
    sq_redactor_free(&r);
    json_decref(a);
}

static void test_cast_lines(void **state)
{
    (void)state;
    json_t *a = js("{\"TOKEN\": \"s3cr3t-value\"}");
    sq_redactor r;
    assert_int_equal(sq_redactor_init(&r, a, NULL), 0);
    sq_cast c;
    assert_int_equal(sq_cast_init(&c, &r, 1 << 20, 80, 24, 1700000000, "tsk_x", "echo s3cr3t-value"), 0);
    sq_cast_output(&c, 1, 0.5, "hi \"you\"\n\x01", 10);
    sq_cast_output(&c, 2, 0.75, "s3cr3t-", 7);
    sq_cast_output(&c, 2, 1.0, "value caf\xc3", 10); /* the é split across chunks */
    sq_cast_output(&c, 2, 1.25, "\xa9 \xff\n", 4);
    sq_cast_finish(&c, 2.0);
    assert_false(c.failed);
    assert_string_equal(c.text,
                        "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 1700000000, \"title\": \"tsk_x\", "
                        "\"command\": \"echo [redacted]\"}\n"
                        "[0.500000, \"o\", \"hi \\\"you\\\"\\n\\u0001\"]\n"
                        "[1.000000, \"o\", \"[redacted] caf\"]\n"
                        "[1.250000, \"o\", \"\xc3\xa9 \\ufffd\\n\"]\n");
    sq_cast_free(&c);
    sq_redactor_free(&r);
    json_decref(a);
}

static void test_cast_bound(void **state)
{
    (void)state;
    sq_redactor r;
    assert_int_equal(sq_redactor_init(&r, NULL, NULL), 0);
    sq_cast c;
    assert_int_equal(sq_cast_init(&c, &r, 4096, 80, 24, 1, NULL, NULL), 0);
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 20; i++)
        sq_cast_output(&c, 1, i * 0.1, chunk, sizeof chunk);
    sq_cast_finish(&c, 3.0);
    assert_true(c.truncated);
    assert_true(c.len <= 4096);
    assert_non_null(strstr(c.text, "recording truncated at SANDQ_RECORDING_MAX_BYTES"));
    /* every line is still JSON */
    char *line = c.text;
    int lines = 0;
    while (*line) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)(nl - line), 0, &je);
        assert_non_null(j);
        json_decref(j);
        lines++;
        line = nl + 1;
    }
    assert_true(lines >= 4);
    sq_cast_free(&c);
    sq_redactor_free(&r);
}

static void test_audit_rows(void **state)
{
    (void)state;
    json_t *env = js("{\"PW\": \"hunter22\"}");
    sq_redactor r;
    assert_int_equal(sq_redactor_init(&r, env, NULL), 0);
    const char *cat = NULL;
    json_t *body = js("{\"command\": \"sh\", \"args\": [\"-c\", \"login hunter22\"], \"env\": {\"PW\": \"hunter22\"}, "
                      "\"stdin\": \"secret input\"}");
    json_t *data = js("{\"kind\": \"exec\", \"exitCode\": 2, \"durationMs\": 15, \"result\": {\"stdout\": \"x\"}, "
                      "\"artifacts\": []}");
    json_t *row = sq_audit_row(&r, "sandbox.task.completed", data, "task.exec", body, &cat);
    assert_string_equal(cat, "command");
    char *t = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "{\"argv\":[\"sh\",\"-c\",\"login [redacted]\"],\"artifacts\":[],\"cwd\":\"/workspace\","
                           "\"durationMs\":15,\"exitCode\":2,\"kind\":\"exec\"}");
    free(t);
    json_decref(row);
    json_decref(data);
    /* the request row: parameters without env and stdin */
    data = js("{\"kind\": \"exec\"}");
    row = sq_audit_row(&r, "sandbox.task.queued", data, "task.exec", body, &cat);
    assert_string_equal(cat, "request");
    t = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "{\"kind\":\"exec\",\"request\":{\"args\":[\"-c\",\"login [redacted]\"],\"command\":\"sh\"}}");
    free(t);
    json_decref(row);
    /* output is not a row */
    assert_null(sq_audit_row(&r, "sandbox.task.output", data, "task.exec", body, &cat));
    json_decref(data);
    json_decref(body);
    /* a browser action's progress carries the action */
    body = js("{\"actions\": [{\"op\": \"goto\", \"url\": \"http://x/\"}, {\"op\": \"type\", \"text\": \"hunter22\"}]}");
    data = js("{\"kind\": \"browser\", \"index\": 1, \"op\": \"type\"}");
    row = sq_audit_row(&r, "sandbox.task.progress", data, "task.browser", body, &cat);
    assert_string_equal(cat, "browser");
    t = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "{\"action\":{\"op\":\"type\",\"text\":\"[redacted]\"},\"index\":1,\"kind\":\"browser\","
                           "\"op\":\"type\"}");
    free(t);
    json_decref(row);
    json_decref(data);
    json_decref(body);
    /* an agent step (hook for the agent: its progress events) and states */
    data = js("{\"kind\": \"agent\", \"step\": 3, \"tool\": \"exec\", \"summary\": \"ran tests\"}");
    row = sq_audit_row(&r, "sandbox.task.progress", data, "task.agent", NULL, &cat);
    assert_string_equal(cat, "agent");
    json_decref(row);
    json_decref(data);
    data = js("{\"state\": \"paused\"}");
    row = sq_audit_row(&r, "sandbox.paused", data, "sandbox.pause", NULL, &cat);
    assert_string_equal(cat, "state");
    json_decref(row);
    json_decref(data);
    data = js("{\"code\": \"invalid_request\", \"message\": \"no\"}");
    row = sq_audit_row(&r, "request.rejected", data, "task.exec", NULL, &cat);
    assert_string_equal(cat, "rejected");
    json_decref(row);
    json_decref(data);
    sq_redactor_free(&r);
    json_decref(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_strings), cmocka_unit_test(test_redact_stream_any_cut),
        cmocka_unit_test(test_cast_lines),     cmocka_unit_test(test_cast_bound),
        cmocka_unit_test(test_audit_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
