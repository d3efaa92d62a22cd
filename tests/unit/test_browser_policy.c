/* test_browser_policy.c — capabilities.browser at create
 * (worker/src/caps/browser/policy.c: options and defaults, the binary check,
 * the memory floor) and the keys `press` knows (keys.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caps/browser/keys.h"
#include "caps/browser/policy.h"

static json_t *body(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    assert_non_null(j);
    return j;
}

static void test_options_and_defaults(void **state)
{
    (void)state;
    sq_browser_opts o;
    json_t *b = body("{}");
    sq_browser_opts_from(b, &o);
    assert_false(o.wanted);
    json_decref(b);

    b = body("{\"capabilities\": {\"browser\": {}}}");
    sq_browser_opts_from(b, &o);
    assert_true(o.wanted && o.persistent);
    assert_int_equal(o.width, SQ_BROWSER_DEFAULT_WIDTH);
    assert_int_equal(o.height, SQ_BROWSER_DEFAULT_HEIGHT);
    json_decref(b);

    b = body("{\"capabilities\": {\"browser\": {\"viewport\": {\"width\": 1440, \"height\": 900},"
             " \"persistentProfile\": false}}}");
    sq_browser_opts_from(b, &o);
    assert_true(o.wanted);
    assert_false(o.persistent);
    assert_int_equal(o.width, 1440);
    assert_int_equal(o.height, 900);
    json_decref(b);
}

static void test_create_check(void **state)
{
    (void)state;
    sq_browser_opts none = {.wanted = false}, want = {.wanted = true, .width = 800, .height = 600};
    sq_err e;
    /* Without the capability nothing is asked of the worker or the limits. */
    assert_int_equal(sq_browser_create_check(&none, false, 64, &e), 0);
    assert_int_equal(sq_browser_create_check(&want, true, 512, &e), 0);
    assert_int_equal(sq_browser_create_check(&want, true, 0, &e), 0); /* no memory limit at all */

    assert_int_equal(sq_browser_create_check(&want, false, 4096, &e), -1);
    assert_int_equal(e.code, SQ_CAPABILITY_UNAVAILABLE);
    assert_string_equal(e.field, "body.capabilities.browser");

    assert_int_equal(sq_browser_create_check(&want, true, 511, &e), -1);
    assert_int_equal(e.code, SQ_LIMIT_EXCEEDED);
    assert_string_equal(e.field, "body.limits.memoryMb");
    assert_non_null(strstr(e.msg, "512"));
}

static void test_keys(void **state)
{
    (void)state;
    sq_key k;
    char buf[16];
    assert_true(sq_key_lookup("Enter", &k, buf));
    assert_string_equal(k.key, "Enter");
    assert_int_equal(k.key_code, 13);
    assert_string_equal(k.text, "\r"); /* what makes a form submit */
    assert_true(sq_key_lookup("Tab", &k, buf));
    assert_string_equal(k.text, "");
    assert_true(sq_key_lookup("Space", &k, buf));
    assert_string_equal(k.key, " ");
    assert_string_equal(k.text, " ");
    assert_true(sq_key_lookup("a", &k, buf));
    assert_string_equal(k.key, "a");
    assert_string_equal(k.code, "KeyA");
    assert_int_equal(k.key_code, 'A');
    assert_true(sq_key_lookup("7", &k, buf));
    assert_string_equal(k.code, "Digit7");
    assert_true(sq_key_lookup("/", &k, buf));
    assert_string_equal(k.text, "/");
    assert_false(sq_key_lookup("", &k, buf));
    assert_false(sq_key_lookup("ab", &k, buf));
    assert_false(sq_key_lookup("F13", &k, buf));
    assert_false(sq_key_lookup("\xc3\xa9", &k, buf)); /* é: typed with `type`, not pressed */
    assert_false(sq_key_lookup(NULL, &k, buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_and_defaults),
        cmocka_unit_test(test_create_check),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
