/* test_create_policy.c — what sandbox.create may ask of disk and network
 * (worker/src/create_policy.c), and byoProxyUrl becoming the proxy variables
 * programs read without overriding the sandbox's explicit env (proxy_env.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle/create_policy.h"
#include "lifecycle/proxy_env.h"

static const char *get(json_t *env, const char *k)
{
    return json_string_value(json_object_get(env, k));
}

static void test_sets_all_names(void **state)
{
    (void)state;
    json_t *env = json_object();
    assert_int_equal(sq_proxy_env("http://proxy.example:3128", env), 0);
    const char *names[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", NULL};
    for (const char **n = names; *n; n++)
        assert_string_equal(get(env, *n), "http://proxy.example:3128");
    assert_string_equal(get(env, "NO_PROXY"), "localhost,127.0.0.1,::1");
    assert_string_equal(get(env, "no_proxy"), "localhost,127.0.0.1,::1");
    assert_int_equal(json_object_size(env), 8);
    json_decref(env);
}

static void test_explicit_env_wins(void **state)
{
    (void)state;
    json_t *env = json_pack("{s:s, s:s}", "https_proxy", "http://mine:1", "NO_PROXY", "internal");
    assert_int_equal(sq_proxy_env("socks5h://p:1080", env), 0);
    assert_string_equal(get(env, "https_proxy"), "http://mine:1");
    assert_string_equal(get(env, "NO_PROXY"), "internal");
    assert_string_equal(get(env, "HTTPS_PROXY"), "socks5h://p:1080");
    assert_string_equal(get(env, "ALL_PROXY"), "socks5h://p:1080");
    json_decref(env);
}

static void test_no_url_no_change(void **state)
{
    (void)state;
    json_t *env = json_object();
    assert_int_equal(sq_proxy_env(NULL, env), 0);
    assert_int_equal(sq_proxy_env("", env), 0);
    assert_int_equal(json_object_size(env), 0);
    assert_int_equal(sq_proxy_env("http://p:1", NULL), -1);
    json_decref(env);
}

static sq_worker_config cfg(void)
{
    sq_worker_config c = {.disk_limit = true, .default_disk_mb = 1024, .max_disk_mb = 4096, .allow_internet = true,
                          .ckpt_auto_min_ms = 60000, .ckpt_auto_max_ms = 86400000};
    return c;
}

static void test_disk_size(void **state)
{
    (void)state;
    sq_worker_config c = cfg();
    json_t *none = json_object(), *some = json_pack("{s:{s:i}}", "limits", "diskMb", 64);
    assert_int_equal(sq_create_disk_mb(&c, none), 1024);
    assert_int_equal(sq_create_disk_mb(&c, some), 64);
    sq_err err = {0};
    assert_int_equal(sq_create_check(&c, some, &err), 0);
    json_t *big = json_pack("{s:{s:i}}", "limits", "diskMb", 4097);
    assert_int_equal(sq_create_check(&c, big, &err), -1);
    assert_int_equal(err.code, SQ_LIMIT_EXCEEDED);
    assert_string_equal(err.field, "body.limits.diskMb");
    /* With the disk limit off there is no size to refuse. */
    c.disk_limit = false;
    assert_int_equal(sq_create_check(&c, big, &err), 0);
    json_decref(none);
    json_decref(some);
    json_decref(big);
}

static void test_internet_switch(void **state)
{
    (void)state;
    sq_worker_config c = cfg();
    json_t *inet = json_pack("{s:s}", "network", "internet"), *none = json_pack("{s:s}", "network", "none");
    assert_true(sq_create_wants_internet(inet));
    assert_false(sq_create_wants_internet(none));
    sq_err err = {0};
    assert_int_equal(sq_create_check(&c, inet, &err), 0);
    c.allow_internet = false;
    assert_int_equal(sq_create_check(&c, inet, &err), -1);
    assert_int_equal(err.code, SQ_FORBIDDEN);
    assert_string_equal(err.field, "body.network");
    assert_int_equal(sq_create_check(&c, none, &err), 0);
    json_decref(inet);
    json_decref(none);
}

/* network {mode, allowOut?, denyOut?} and egress settings that need internet. */
static void test_network_object_and_egress_needs_internet(void **state)
{
    (void)state;
    sq_worker_config c = cfg();
    json_t *inet = json_pack("{s:{s:s, s:[s]}}", "network", "mode", "internet", "allowOut", "pypi.org");
    assert_true(sq_create_wants_internet(inet));
    sq_err err = {0};
    assert_int_equal(sq_create_check(&c, inet, &err), 0);
    json_t *none_list = json_pack("{s:{s:s, s:[s]}}", "network", "mode", "none", "denyOut", "1.2.3.4");
    assert_false(sq_create_wants_internet(none_list));
    assert_int_equal(sq_create_check(&c, none_list, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, "body.network.denyOut");
    json_t *proxy_none = json_pack("{s:{s:{s:s}}}", "capabilities", "proxy", "url", "http://192.0.2.1:3128");
    assert_int_equal(sq_create_check(&c, proxy_none, &err), -1);
    assert_string_equal(err.field, "body.capabilities.proxy.url");
    json_t *byo_none = json_pack("{s:{s:{s:s}}}", "capabilities", "browser", "byoProxyUrl", "http://192.0.2.1:3128");
    assert_int_equal(sq_create_check(&c, byo_none, &err), -1);
    assert_string_equal(err.field, "body.capabilities.browser.byoProxyUrl");
    json_decref(inet);
    json_decref(none_list);
    json_decref(proxy_none);
    json_decref(byo_none);
}

/* checkpoint {auto, intervalMs}: auto true needs an intervalMs within the
 * worker's SANDQ_CHECKPOINT_AUTO_MIN_MS..MAX_MS; auto false asks nothing. */
static void test_auto_checkpoint_bounds(void **state)
{
    (void)state;
    sq_worker_config c = cfg();
    sq_err err = {0};
    json_t *ok = json_pack("{s:{s:b, s:I}}", "checkpoint", "auto", 1, "intervalMs", (json_int_t)60000);
    assert_int_equal(sq_create_check(&c, ok, &err), 0);
    assert_int_equal(sq_create_auto_checkpoint_ms(ok), 60000);
    json_t *top = json_pack("{s:{s:b, s:I}}", "checkpoint", "auto", 1, "intervalMs", (json_int_t)86400000);
    assert_int_equal(sq_create_check(&c, top, &err), 0);
    json_t *low = json_pack("{s:{s:b, s:I}}", "checkpoint", "auto", 1, "intervalMs", (json_int_t)59999);
    assert_int_equal(sq_create_check(&c, low, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, "body.checkpoint.intervalMs");
    json_t *high = json_pack("{s:{s:b, s:I}}", "checkpoint", "auto", 1, "intervalMs", (json_int_t)86400001);
    assert_int_equal(sq_create_check(&c, high, &err), -1);
    assert_string_equal(err.field, "body.checkpoint.intervalMs");
    json_t *missing = json_pack("{s:{s:b}}", "checkpoint", "auto", 1);
    assert_int_equal(sq_create_check(&c, missing, &err), -1);
    assert_string_equal(err.field, "body.checkpoint.intervalMs");
    /* auto false: no automatic checkpoints, whatever the interval. */
    json_t *off = json_pack("{s:{s:b, s:I}}", "checkpoint", "auto", 0, "intervalMs", (json_int_t)5);
    assert_int_equal(sq_create_check(&c, off, &err), 0);
    assert_int_equal(sq_create_auto_checkpoint_ms(off), 0);
    json_t *none = json_object();
    assert_int_equal(sq_create_auto_checkpoint_ms(none), 0);
    json_decref(ok);
    json_decref(top);
    json_decref(low);
    json_decref(high);
    json_decref(missing);
    json_decref(off);
    json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_size),
        cmocka_unit_test(test_internet_switch),
        cmocka_unit_test(test_network_object_and_egress_needs_internet),
        cmocka_unit_test(test_auto_checkpoint_bounds),
        cmocka_unit_test(test_sets_all_names),
        cmocka_unit_test(test_explicit_env_wins),
        cmocka_unit_test(test_no_url_no_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
