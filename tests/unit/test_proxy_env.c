/* test_proxy_env.c — byoProxyUrl becomes the proxy variables programs read,
 * without overriding what the sandbox's env sets explicitly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy_env.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sets_all_names),
        cmocka_unit_test(test_explicit_env_wins),
        cmocka_unit_test(test_no_url_no_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
