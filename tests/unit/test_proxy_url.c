/* test_proxy_url.c — capabilities.proxy.url taken apart (worker/src/lifecycle/
 * proxy_url.c): scheme, credentials, host and port; the redacted form that
 * events and PostgreSQL show; the bare form the browser gets; refusals; and
 * the configuration of the browser's relay to a proxy with credentials
 * (worker/src/caps/browser/relay.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caps/browser/relay.h"
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

static const char *relay_of(const char *url, char *out, size_t size)
{
    sq_proxy_url p;
    const char *why = NULL;
    assert_int_equal(sq_proxy_url_parse(url, &p, &why), 0);
    if (sq_relay_conf(url, &p, 0x0a000203u, out, size, &why) < 0) {
        assert_non_null(why);
        assert_string_equal(out, ""); /* nothing half-written is left behind */
        return why;
    }
    return NULL;
}

static void test_relay_conf(void **state)
{
    (void)state;
    char out[SQ_RELAY_CONF_MAX];
    /* percent-decoded as curl decodes HTTP_PROXY; the pinned address, not the name */
    assert_null(relay_of("http://al%20ice:p%3Ass%23w%zz!@proxy.example:3128/", out, sizeof out));
    assert_non_null(strstr(out, "\nUpstream http al ice:p:ss#w%zz!@10.0.2.3:3128\n"));
    assert_non_null(strstr(out, "\nPort 39128\n"));
    assert_non_null(strstr(out, "\nListen 127.0.0.1\n"));
    assert_non_null(strstr(out, "\nDisableViaHeader Yes\n"));
    assert_null(relay_of("http://token@10.0.2.3", out, sizeof out)); /* a user alone: "token:", as curl sends */
    assert_non_null(strstr(out, "\nUpstream http token:@10.0.2.3:1080\n"));

    /* what tinyproxy cannot carry, or the relay does not speak to */
    const char *refused[] = {"http://u:a%0Ab@h:1",   /* a line break would be a line of the user's own */
                             "http://u:a%00b@h:1",   "http://u%3Ax:p@h:1", "http://u:x@y@h:1",
                             "https://u:p@h:1",      "socks5h://u:p@h:1",  "socks5://u:p@h:1",
                             NULL};
    for (const char **r = refused; *r; r++)
        if (!relay_of(*r, out, sizeof out))
            fail_msg("relay accepted %s", *r);
    char small[64];
    assert_non_null(relay_of("http://u:p@h:1", small, sizeof small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_redact),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_relay_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
