/* test_webhook_ssrf.c — the SSRF guard's address classes (webhook_ssrf.h):
 * every forbidden class in IPv4 and IPv6, IPv4 hidden inside IPv6, and what
 * SANDQ_WEBHOOK_ALLOW_PRIVATE changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "sq/webhook_ssrf.h"

static sq_addr_class of(const char *text)
{
    struct sockaddr_storage ss = {0};
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
    }
    return sq_addr_classify((struct sockaddr *)&ss);
}

#define CLASS(text, cls) assert_int_equal(of(text), (cls))

static void test_ipv4(void **state)
{
    (void)state;
    CLASS("127.0.0.1", SQ_ADDR_LOOPBACK);
    CLASS("127.255.255.254", SQ_ADDR_LOOPBACK);
    CLASS("10.1.2.3", SQ_ADDR_PRIVATE);
    CLASS("172.16.0.1", SQ_ADDR_PRIVATE);
    CLASS("172.31.255.255", SQ_ADDR_PRIVATE);
    CLASS("192.168.1.1", SQ_ADDR_PRIVATE);
    CLASS("100.64.0.1", SQ_ADDR_PRIVATE);
    CLASS("169.254.1.1", SQ_ADDR_LINK_LOCAL);
    CLASS("169.254.169.254", SQ_ADDR_METADATA);
    CLASS("100.100.100.200", SQ_ADDR_METADATA);
    /* Azure's WireServer sits on a public address; its neighbours are public. */
    CLASS("168.63.129.16", SQ_ADDR_METADATA);
    CLASS("168.63.129.15", SQ_ADDR_PUBLIC);
    CLASS("168.63.129.17", SQ_ADDR_PUBLIC);
    CLASS("0.0.0.0", SQ_ADDR_UNSPECIFIED);
    CLASS("0.1.2.3", SQ_ADDR_UNSPECIFIED);
    CLASS("224.0.0.1", SQ_ADDR_MULTICAST);
    CLASS("255.255.255.255", SQ_ADDR_RESERVED);
    CLASS("240.0.0.1", SQ_ADDR_RESERVED);
    CLASS("192.0.2.10", SQ_ADDR_RESERVED);
    /* Neighbours of the private ranges are public. */
    CLASS("172.15.255.255", SQ_ADDR_PUBLIC);
    CLASS("172.32.0.0", SQ_ADDR_PUBLIC);
    CLASS("11.0.0.1", SQ_ADDR_PUBLIC);
    CLASS("93.184.216.34", SQ_ADDR_PUBLIC);
    CLASS("8.8.8.8", SQ_ADDR_PUBLIC);
}

static void test_ipv6(void **state)
{
    (void)state;
    CLASS("::1", SQ_ADDR_LOOPBACK);
    CLASS("::", SQ_ADDR_UNSPECIFIED);
    CLASS("fe80::1", SQ_ADDR_LINK_LOCAL);
    CLASS("febf::1", SQ_ADDR_LINK_LOCAL);
    CLASS("fc00::1", SQ_ADDR_PRIVATE);
    CLASS("fd12:3456::1", SQ_ADDR_PRIVATE);
    CLASS("fec0::1", SQ_ADDR_PRIVATE);
    CLASS("fd00:ec2::254", SQ_ADDR_METADATA);
    CLASS("ff02::1", SQ_ADDR_MULTICAST);
    CLASS("2001:db8::1", SQ_ADDR_RESERVED);
    CLASS("2606:4700:4700::1111", SQ_ADDR_PUBLIC);
    CLASS("2a00:1450:4001:81c::200e", SQ_ADDR_PUBLIC);
}

static void test_ipv4_inside_ipv6(void **state)
{
    (void)state;
    /* IPv4-mapped: the classic way past a v4-only check. */
    CLASS("::ffff:127.0.0.1", SQ_ADDR_LOOPBACK);
    CLASS("::ffff:169.254.169.254", SQ_ADDR_METADATA);
    CLASS("::ffff:168.63.129.16", SQ_ADDR_METADATA);
    CLASS("::ffff:10.0.0.1", SQ_ADDR_PRIVATE);
    CLASS("::ffff:0.0.0.0", SQ_ADDR_UNSPECIFIED);
    CLASS("::ffff:8.8.8.8", SQ_ADDR_PUBLIC);
    /* IPv4-compatible (deprecated), NAT64 and 6to4. */
    CLASS("::127.0.0.1", SQ_ADDR_LOOPBACK);
    CLASS("64:ff9b::192.168.0.1", SQ_ADDR_PRIVATE);
    CLASS("64:ff9b::169.254.169.254", SQ_ADDR_METADATA);
    CLASS("2002:7f00:1::", SQ_ADDR_LOOPBACK);
    CLASS("2002:0808:0808::1", SQ_ADDR_PUBLIC);
}

static void test_allowed(void **state)
{
    (void)state;
    assert_true(sq_addr_allowed(SQ_ADDR_PUBLIC, false));
    for (sq_addr_class c = SQ_ADDR_LOOPBACK; c <= SQ_ADDR_RESERVED; c++)
        assert_false(sq_addr_allowed(c, false));
    /* The operator's switch opens loopback, private and link-local only. */
    assert_true(sq_addr_allowed(SQ_ADDR_LOOPBACK, true));
    assert_true(sq_addr_allowed(SQ_ADDR_PRIVATE, true));
    assert_true(sq_addr_allowed(SQ_ADDR_LINK_LOCAL, true));
    assert_false(sq_addr_allowed(SQ_ADDR_METADATA, true));
    assert_false(sq_addr_allowed(SQ_ADDR_UNSPECIFIED, true));
    assert_false(sq_addr_allowed(SQ_ADDR_MULTICAST, true));
    assert_false(sq_addr_allowed(SQ_ADDR_RESERVED, true));
    assert_string_equal(sq_addr_class_name(SQ_ADDR_METADATA), "metadata");
    assert_string_equal(sq_addr_class_name(SQ_ADDR_LINK_LOCAL), "link_local");
    struct sockaddr unix_addr = {.sa_family = AF_UNIX};
    assert_int_equal(sq_addr_classify(&unix_addr), SQ_ADDR_RESERVED);
    assert_int_equal(sq_addr_classify(NULL), SQ_ADDR_RESERVED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ipv4_inside_ipv6),
        cmocka_unit_test(test_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
