/* test_limits.c — resolving a create's limits and timeouts against the
 * operator's defaults and maximums (worker/src/sbx_limits.c), and reading those
 * from the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle/sbx_limits.h"

static json_t *body(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

static void test_defaults(void **state)
{
    (void)state;
    sq_limits_config c;
    sq_limits_config_defaults(&c);
    json_t *b = body("{}");
    sq_limits l;
    sq_err err = {0};
    assert_int_equal(sq_limits_resolve(b, &c, &l, &err), 0);
    assert_int_equal(l.memory_mb, 512);
    assert_int_equal(l.cpu_millis, 1000);
    assert_int_equal(l.pids, 512);
    assert_int_equal(l.timeout_ms, 3600000);
    assert_int_equal(l.idle_timeout_ms, 0);
    assert_false(l.pause_on_timeout);
    json_decref(b);
}

static void test_values_taken(void **state)
{
    (void)state;
    sq_limits_config c;
    sq_limits_config_defaults(&c);
    json_t *b = body("{\"limits\":{\"memoryMb\":64,\"cpus\":0.5,\"pids\":32},\"timeoutMs\":5000,"
                     "\"idleTimeoutMs\":2000,\"onTimeout\":\"pause\"}");
    sq_limits l;
    sq_err err = {0};
    assert_int_equal(sq_limits_resolve(b, &c, &l, &err), 0);
    assert_int_equal(l.memory_mb, 64);
    assert_int_equal(l.cpu_millis, 500);
    assert_int_equal(l.pids, 32);
    assert_int_equal(l.timeout_ms, 5000);
    assert_int_equal(l.idle_timeout_ms, 2000);
    assert_true(l.pause_on_timeout);
    json_decref(b);
}

static void expect_over(const char *text, const char *field)
{
    sq_limits_config c;
    sq_limits_config_defaults(&c);
    json_t *b = body(text);
    sq_limits l;
    sq_err err = {0};
    assert_int_equal(sq_limits_resolve(b, &c, &l, &err), -1);
    assert_int_equal(err.code, SQ_LIMIT_EXCEEDED);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.msg, "maximum"));
    json_decref(b);
}

static void test_over_maximum_refused(void **state)
{
    (void)state;
    expect_over("{\"limits\":{\"memoryMb\":4097}}", "body.limits.memoryMb");
    expect_over("{\"limits\":{\"cpus\":2.5}}", "body.limits.cpus");
    expect_over("{\"limits\":{\"pids\":5000}}", "body.limits.pids");
    expect_over("{\"timeoutMs\":86400001}", "body.timeoutMs");
    expect_over("{\"idleTimeoutMs\":86400001}", "body.idleTimeoutMs");
    /* Exactly the maximum is fine. */
    sq_limits_config c;
    sq_limits_config_defaults(&c);
    json_t *b = body("{\"limits\":{\"memoryMb\":4096,\"cpus\":2,\"pids\":4096},\"timeoutMs\":86400000}");
    sq_limits l;
    sq_err err = {0};
    assert_int_equal(sq_limits_resolve(b, &c, &l, &err), 0);
    json_decref(b);
    assert_int_equal(sq_limits_check_timeout(86400000, &c, &err), 0);
    assert_int_equal(sq_limits_check_timeout(86400001, &c, &err), -1);
    assert_int_equal(err.code, SQ_LIMIT_EXCEEDED);
}

static void test_cpu_rounding(void **state)
{
    (void)state;
    assert_int_equal(sq_limits_cpu_millis(1), 1000);
    assert_int_equal(sq_limits_cpu_millis(0.25), 250);
    assert_int_equal(sq_limits_cpu_millis(0.0004), 10); /* kernel minimum quota */
    assert_int_equal(sq_limits_cpu_millis(1.2345), 1235);
}

static void test_env(void **state)
{
    (void)state;
    sq_limits_config c;
    sq_err err = {0};
    setenv("SANDQ_LIMIT_MEMORY_MB", "256", 1);
    setenv("SANDQ_LIMIT_MEMORY_MB_MAX", "1024", 1);
    setenv("SANDQ_LIMIT_CPUS", "0.5", 1);
    setenv("SANDQ_LIMIT_CPUS_MAX", "8", 1);
    setenv("SANDQ_SANDBOX_IDLE_TIMEOUT_MS", "60000", 1);
    assert_int_equal(sq_limits_config_from_env(&c, &err), 0);
    assert_int_equal(c.memory_mb_default, 256);
    assert_int_equal(c.memory_mb_max, 1024);
    assert_int_equal(c.cpu_millis_default, 500);
    assert_int_equal(c.cpu_millis_max, 8000);
    assert_int_equal(c.pids_max, 4096);
    assert_int_equal(c.idle_timeout_ms_default, 60000);

    setenv("SANDQ_LIMIT_CPUS", "lots", 1);
    assert_int_equal(sq_limits_config_from_env(&c, &err), -1);
    assert_string_equal(err.field, "SANDQ_LIMIT_CPUS");
    setenv("SANDQ_LIMIT_CPUS", "1", 1);

    /* A default above the maximum is a configuration error, said at start. */
    setenv("SANDQ_LIMIT_MEMORY_MB", "2048", 1);
    assert_int_equal(sq_limits_config_from_env(&c, &err), -1);
    assert_string_equal(err.field, "SANDQ_LIMIT_MEMORY_MB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_taken),
        cmocka_unit_test(test_over_maximum_refused),
        cmocka_unit_test(test_cpu_rounding),
        cmocka_unit_test(test_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
