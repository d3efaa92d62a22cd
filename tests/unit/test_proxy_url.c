/* test_proxy_url.c — capabilities.proxy.url taken apart (worker/src/lifecycle/
 * proxy_url.c): scheme, credentials, host and port; the redacted form that
 * events and PostgreSQL show; the bare form the browser gets; and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle/proxy_url.h"

static void test_parse_and_redact(void **state)
{
    (void)state;
    sq_proxy_url p;
    const char *why = NULL;
    const char *url = "http://user:p@ss:w0rd@proxy.example.com:3128/";
    assert_int_equal(sq_proxy_url_parse(url, &p, &why), 0);
    assert_string_equal(p.scheme, "http");
    assert_string_equal(p.host, "proxy.example.com");
    assert_int_equal(p.port, 3128);
    assert_true(p.has_user && p.has_password);
    char out[256];
    assert_int_equal(sq_proxy_url_redacted(url, &p, out, sizeof out), 0);
    assert_string_equal(out, "http://user:***@proxy.example.com:3128/");
    assert_int_equal(sq_proxy_url_bare(&p, out, sizeof out), 0);
    assert_string_equal(out, "http://proxy.example.com:3128");

    assert_int_equal(sq_proxy_url_parse("socks5h://10.1.2.3", &p, &why), 0);
    assert_int_equal(p.port, 1080);
    assert_false(p.has_user);
    assert_int_equal(sq_proxy_url_redacted("socks5h://10.1.2.3", &p, out, sizeof out), 0);
    assert_string_equal(out, "socks5h://10.1.2.3");
    assert_int_equal(sq_proxy_url_parse("https://token@p.example", &p, &why), 0);
    assert_int_equal(p.port, 443);
    assert_true(p.has_user && !p.has_password);
    assert_int_equal(sq_proxy_url_redacted("https://token@p.example", &p, out, sizeof out), 0);
    assert_string_equal(out, "https://token@p.example"); /* no password: nothing to hide (the user name shows) */
    assert_int_equal(sq_proxy_url_redacted(url, &(sq_proxy_url){.has_password = true, .pass_start = 12,
                                                                .pass_end = 21}, out, 10), -1);
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {"ftp://h:1", "http:/h:1", "http://", "http://u:p@", "http://[::1]:3128",
                         "http://h:0", "http://h:65536", "http://h:", "http://h:12a", "http://h/path",
                         "http://h?x=1", "http://h_x:1", "http://h x:1", "HTTPX://h", NULL};
    for (const char **b = bad; *b; b++) {
        sq_proxy_url p;
        const char *why = NULL;
        if (sq_proxy_url_parse(*b, &p, &why) != -1 || !why)
            fail_msg("accepted: %s", *b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_redact),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
