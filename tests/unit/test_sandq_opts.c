/* test_sandq_opts.c — libsandq's option structs can grow without breaking callers
 * (sandq.h "Option structs", producer/src/opts.c): a program compiled against an
 * older, smaller struct keeps working with this library — the fields it does not
 * know keep their defaults and nothing past its struct is read — while a struct
 * that is not initialised, or that sets an option this library lacks, is refused
 * with a message naming the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* sandq_client_opts as a program built against the previous header has it: every
 * field up to linger_ms, without webhook_secret_key (added since). */
typedef struct v0_client_opts {
    size_t struct_size;
    const char *brokers, *topic_prefix, *region, *tenant;
    int64_t timeout_ms;
    const char *client_id;
    const char *const *kafka_conf;
    const char *redis_url, *database_url;
    int linger_ms;
} v0_client_opts;

static void test_a_client_built_against_the_older_struct_works(void **state)
{
    (void)state;
    setenv("SANDQ_WEBHOOK_SECRET_KEY", "from-the-environment", 1);
    /* Whatever lies after the caller's struct must not be read as the new field. */
    struct {
        v0_client_opts o;
        const char *after;
    } mem;
    memset(&mem, 0, sizeof mem);
    mem.o.struct_size = sizeof mem.o;
    mem.o.topic_prefix = "old";
    mem.o.tenant = "acme";
    mem.o.linger_ms = 7;
    mem.after = "not-an-option";
    _Static_assert(sizeof(v0_client_opts) < sizeof(sandq_client_opts), "the older struct is smaller");
    sandq_error err;
    sandq_client_t *c = sandq_client_new((const sandq_client_opts *)&mem.o, &err);
    assert_non_null(c);
    assert_int_equal(err.code, SANDQ_OK);
    assert_string_equal(c->prefix, "old");
    assert_string_equal(c->tenant, "acme");
    assert_int_equal(c->linger_ms, 7);
    /* the field the old caller does not have takes its default, not the bytes after it */
    assert_string_equal(c->webhook_secret_key, "from-the-environment");
    sandq_client_free(c);
    unsetenv("SANDQ_WEBHOOK_SECRET_KEY");
}

static void test_an_uninitialised_struct_is_refused_with_the_fix(void **state)
{
    (void)state;
    sandq_client_opts o;
    memset(&o, 0, sizeof o);
    o.topic_prefix = "x";
    sandq_error err;
    assert_null(sandq_client_new(&o, &err));
    assert_int_equal(err.code, SANDQ_E_BAD_ARGUMENT);
    assert_non_null(strstr(err.message, "SANDQ_CLIENT_OPTS_INIT"));

    sandq_exec_opts e = {0};
    sandq_exec_opts copy;
    assert_int_equal(sqp_opts_copy(&copy, sizeof copy, &e, "sandq_exec_opts", &err), SANDQ_E_BAD_ARGUMENT);
    assert_non_null(strstr(err.message, "SANDQ_EXEC_OPTS_INIT"));
}

static void test_null_and_init_mean_every_default(void **state)
{
    (void)state;
    sandq_exec_opts copy;
    sandq_error err;
    assert_int_equal(sqp_opts_copy(&copy, sizeof copy, NULL, "sandq_exec_opts", &err), SANDQ_OK);
    assert_int_equal(copy.struct_size, sizeof copy);
    assert_null(copy.cwd);
    assert_int_equal(copy.timeout_ms, 0);
    sandq_exec_opts init = SANDQ_EXEC_OPTS_INIT;
    init.timeout_ms = 5000;
    assert_int_equal(sqp_opts_copy(&copy, sizeof copy, &init, "sandq_exec_opts", &err), SANDQ_OK);
    assert_int_equal(copy.timeout_ms, 5000);
}

/* exec opts of an older caller, without metadata: the request body is built from
 * what it set, and metadata is absent rather than whatever followed its struct. */
typedef struct v0_exec_opts {
    size_t struct_size;
    const char *cwd;
    const char *const *env;
    const void *stdin_data;
    size_t stdin_len;
    int64_t timeout_ms, wait_ms;
    sandq_output_fn on_output;
    void *user;
} v0_exec_opts;

static void test_older_exec_opts_build_the_same_request(void **state)
{
    (void)state;
    static const char *const garbage[] = {"NOT=SENT", NULL};
    struct {
        v0_exec_opts o;
        const char *const *after;
    } mem;
    memset(&mem, 0, sizeof mem);
    mem.o.struct_size = sizeof mem.o;
    mem.o.cwd = "app";
    mem.o.timeout_ms = 1000;
    mem.after = garbage;
    sandq_exec_opts copy;
    sandq_error err;
    assert_int_equal(sqp_opts_copy(&copy, sizeof copy, &mem.o, "sandq_exec_opts", &err), SANDQ_OK);
    assert_null(copy.metadata);
    const char *argv[] = {"ls", NULL};
    json_t *body = sqp_body_exec(argv, &copy, &err);
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "cwd")), "app");
    assert_int_equal(json_integer_value(json_object_get(body, "timeoutMs")), 1000);
    json_decref(body);
}

/* A program built against a newer header: fine while it leaves the options this
 * library does not know at zero; refused, not ignored, once it sets one. */
static void test_a_newer_struct_is_accepted_only_without_unknown_options(void **state)
{
    (void)state;
    struct {
        sandq_exec_opts o;
        int64_t future_option;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.o.struct_size = sizeof newer;
    newer.o.timeout_ms = 42;
    sandq_exec_opts copy;
    sandq_error err;
    assert_int_equal(sqp_opts_copy(&copy, sizeof copy, &newer, "sandq_exec_opts", &err), SANDQ_OK);
    assert_int_equal(copy.timeout_ms, 42);
    assert_int_equal(copy.struct_size, sizeof copy);
    newer.future_option = 1;
    assert_int_equal(sqp_opts_copy(&copy, sizeof copy, &newer, "sandq_exec_opts", &err), SANDQ_E_BAD_ARGUMENT);
    assert_non_null(strstr(err.message, "does not know"));
}

/* The hand-off and preview calls follow the convention too: checked before
 * anything is sent (no broker is needed to see it). */
static void test_handoff_and_preview_opts_follow_the_convention(void **state)
{
    (void)state;
    sandq_client_opts co = SANDQ_CLIENT_OPTS_INIT;
    co.brokers = "127.0.0.1:1";
    sandq_error err;
    sandq_client_t *c = sandq_client_new(&co, &err);
    assert_non_null(c);
    sandq_handoff_opts bad;
    memset(&bad, 0, sizeof bad);
    char *out = (char *)"x";
    assert_int_equal(sandq_handoff_request(c, "sbx_01M8E51QDZ0SKHS01HFYHV2YCX", NULL, "mfa", "m", &bad, &out, &err),
                     SANDQ_E_BAD_ARGUMENT);
    assert_non_null(strstr(err.message, "SANDQ_HANDOFF_OPTS_INIT"));
    assert_null(out);
    sandq_preview_opts pbad;
    memset(&pbad, 0, sizeof pbad);
    assert_int_equal(sandq_preview_url(c, "sbx_01M8E51QDZ0SKHS01HFYHV2YCX", &pbad, &out, NULL, &err),
                     SANDQ_E_BAD_ARGUMENT);
    assert_non_null(strstr(err.message, "SANDQ_PREVIEW_OPTS_INIT"));
    sandq_preview_opts po = SANDQ_PREVIEW_OPTS_INIT;
    po.ttl_ms = 25LL * 3600 * 1000;
    assert_int_equal(sandq_preview_url(c, "sbx_01M8E51QDZ0SKHS01HFYHV2YCX", &po, &out, NULL, &err),
                     SANDQ_E_BAD_ARGUMENT);
    /* ids are checked before anything is sent */
    assert_int_equal(sandq_handoff_accept(c, "sbx_01M8E51QDZ0SKHS01HFYHV2YCX", "hnd_bad", "ada", NULL, NULL, &err),
                     SANDQ_E_BAD_ARGUMENT);
    assert_int_equal(sandq_handoff_cancel(c, "nope", "hnd_01M8E51QDZX8FY4YMR9NJMG8EG", NULL, NULL, &err),
                     SANDQ_E_BAD_ARGUMENT);
    sandq_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_client_built_against_the_older_struct_works),
        cmocka_unit_test(test_an_uninitialised_struct_is_refused_with_the_fix),
        cmocka_unit_test(test_null_and_init_mean_every_default),
        cmocka_unit_test(test_older_exec_opts_build_the_same_request),
        cmocka_unit_test(test_handoff_and_preview_opts_follow_the_convention),
        cmocka_unit_test(test_a_newer_struct_is_accepted_only_without_unknown_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
