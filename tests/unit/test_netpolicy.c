/* test_netpolicy.c — the internet mode's egress rules (worker/sandbox/netpolicy.c):
 * CIDR parsing, and that the rendered nft ruleset blocks what it must (private
 * ranges, loopback, metadata, the host's own addresses, the operator's deny
 * list), lets DNS to slirp4netns (or to SANDQ_SANDBOX_DNS's resolvers, port 53
 * only) and the operator's allow list through, and
 * refuses malformed operator input instead of passing it to nft. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netpolicy.h"

/* Name the input that failed (older cmocka has no *_msg asserts). */
#define CHECK_EQ(a, b, what) do { if ((a) != (b)) fail_msg("%s: %lld != %lld", (what), (long long)(a), (long long)(b)); } while (0)
#define CHECK_IN(hay, needle) do { if (!strstr((hay), (needle))) fail_msg("missing: %s", (needle)); } while (0)

static int parse(const char *s, sq_cidr4 *c)
{
    return sq_cidr4_parse(s, strlen(s), c);
}

static void test_cidr_parse(void **state)
{
    (void)state;
    sq_cidr4 c;
    assert_int_equal(parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.addr, 0x0a000000);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(parse("192.0.2.7", &c), 0);
    assert_int_equal(c.addr, 0xc0000207);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(parse("0.0.0.0/0", &c), 0);
    assert_int_equal(c.prefix, 0);
    assert_true(sq_cidr4_contains(&c, 0x01020304));

    const char *bad[] = {"", "10", "10.0.0", "10.0.0.0.0", "256.0.0.0", "10.0.0.1/8", "10.0.0.0/33",
                         "10.0.0.0/", "01.0.0.0", "10.0.0.0/08", "a.b.c.d", "10.0.0.0 /8", "1.2.3.4;",
                         "1.2.3.4/8}", "1234.0.0.0", NULL};
    for (const char **b = bad; *b; b++)
        CHECK_EQ(parse(*b, &c), -1, *b);
}

static void test_contains(void **state)
{
    (void)state;
    sq_cidr4 c;
    assert_int_equal(parse("172.16.0.0/12", &c), 0);
    assert_true(sq_cidr4_contains(&c, 0xac100001));  /* 172.16.0.1 */
    assert_true(sq_cidr4_contains(&c, 0xac1fffff));  /* 172.31.255.255 */
    assert_false(sq_cidr4_contains(&c, 0xac200000)); /* 172.32.0.0 */
}

static void test_render_blocks_private_and_host(void **state)
{
    (void)state;
    uint32_t host[] = {0xcb007105 /* 203.0.113.5 */, 0x7f000001};
    sq_netpolicy p = {.host_addrs = host, .nhost = 2, .deny = "198.51.100.0/24"};
    char buf[8192];
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), 0);
    const char *must[] = {"table inet sandq", "hook output", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
                          "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "168.63.129.16/32", "203.0.113.5/32",
                          "198.51.100.0/24", "oifname \"lo\" accept", "ip daddr 10.0.2.3 udp dport 53 accept",
                          "ip daddr @blocked4 meta l4proto tcp reject with tcp reset",
                          "meta nfproto ipv6 reject", "auto-merge", NULL};
    for (const char **m = must; *m; m++)
        CHECK_IN(buf, *m);
    /* No allow set without an allow list. */
    assert_null(strstr(buf, "allowed4"));
    /* DNS is let through before the blocks are applied. */
    assert_true(strstr(buf, "dport 53 accept") < strstr(buf, "@blocked4 meta"));
}

static void test_render_allow_list(void **state)
{
    (void)state;
    sq_netpolicy p = {.allow = "10.9.8.7, 192.168.5.0/24"};
    char buf[8192];
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), 0);
    assert_non_null(strstr(buf, "set allowed4"));
    assert_non_null(strstr(buf, "10.9.8.7/32, 192.168.5.0/24"));
    assert_true(strstr(buf, "@allowed4 accept") < strstr(buf, "@blocked4 meta"));
}

static void test_render_refuses_bad_lists(void **state)
{
    (void)state;
    char buf[8192];
    const char *bad[] = {"10.0.0.0/8; flush ruleset", "}", "example.com", "10.0.0.1/8", NULL};
    for (const char **b = bad; *b; b++) {
        sq_err err = {0};
        sq_netpolicy p = {.allow = *b};
        CHECK_EQ(sq_netpolicy_render(&p, buf, sizeof buf, &err), -1, *b);
        assert_int_equal(err.code, SQ_INVALID_REQUEST);
        assert_string_equal(err.field, "SANDQ_NET_ALLOW");
        sq_netpolicy q = {.deny = *b};
        assert_int_equal(sq_netpolicy_render(&q, buf, sizeof buf, &err), -1);
        assert_string_equal(err.field, "SANDQ_NET_DENY");
        assert_int_equal(sq_netpolicy_check(*b, "X", &err), -1);
    }
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_check(NULL, "X", &err), 0);
    assert_int_equal(sq_netpolicy_check(" , ", "X", &err), 0);
}

static void test_render_too_small(void **state)
{
    (void)state;
    char buf[64];
    sq_err err = {0};
    sq_netpolicy p = {0};
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), -1);
    assert_int_equal(strlen(buf), sizeof buf - 1);
}

static void test_sandbox_dns_parse(void **state)
{
    (void)state;
    uint32_t dns[SQ_DNS_MAX];
    size_t n = 99;
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_dns_parse(NULL, dns, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sq_netpolicy_dns_parse(" , ", dns, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sq_netpolicy_dns_parse("192.0.2.53, 10.20.0.2 198.51.100.9", dns, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(dns[0], 0xc0000235);
    assert_int_equal(dns[1], 0x0a140002); /* a private resolver is fine: it is let through on port 53 only */
    /* Unreachable through slirp4netns, not an address, or too many. */
    const char *bad[] = {"127.0.0.53", "127.0.0.1", "10.0.2.3", "0.0.0.0", "224.0.0.251", "255.255.255.255",
                         "192.0.2.0/24", "resolver.example", "1.1.1.1; flush ruleset",
                         "1.1.1.1, 8.8.8.8, 9.9.9.9, 8.8.4.4", NULL};
    for (const char **b = bad; *b; b++) {
        sq_err e = {0};
        CHECK_EQ(sq_netpolicy_dns_parse(*b, dns, &n, &e), -1, *b);
        assert_int_equal(e.code, SQ_INVALID_REQUEST);
        assert_string_equal(e.field, "SANDQ_SANDBOX_DNS");
    }
}

static void test_sandbox_resolv_conf(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(sq_netpolicy_resolv_conf(NULL, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "nameserver 10.0.2.3\noptions edns0\n");
    uint32_t dns[] = {0xc0000235, 0x0a140002};
    assert_int_equal(sq_netpolicy_resolv_conf(dns, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "nameserver 192.0.2.53\nnameserver 10.20.0.2\noptions edns0\n");
    assert_int_equal(sq_netpolicy_resolv_conf(dns, 2, buf, 20), -1);
}

static void test_render_with_sandbox_dns(void **state)
{
    (void)state;
    uint32_t dns[] = {0xc0000235, 0x0a140002};
    sq_netpolicy p = {.dns = dns, .ndns = 2};
    char buf[8192];
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), 0);
    CHECK_IN(buf, "ip daddr { 192.0.2.53, 10.20.0.2 } udp dport 53 accept");
    CHECK_IN(buf, "ip daddr { 192.0.2.53, 10.20.0.2 } tcp dport 53 accept");
    /* slirp's relay to the host's resolver is no longer let through (10.0.2.3
     * falls in the 10.0.0.0/8 block), and the private resolver is open for
     * DNS only: no accept rule names it without a port. */
    assert_null(strstr(buf, "10.0.2.3"));
    assert_null(strstr(buf, "10.20.0.2 accept"));
    assert_true(strstr(buf, "tcp dport 53 accept") < strstr(buf, "@blocked4 meta"));
}

/* capabilities.proxy: its address and port only; no DNS, no UDP. */
static void test_render_with_proxy(void **state)
{
    (void)state;
    uint32_t host[] = {0xcb007105};
    sq_netpolicy p = {.host_addrs = host, .nhost = 1, .proxy_addr = 0x0a090807, .proxy_port = 3128};
    char buf[8192];
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), 0);
    CHECK_IN(buf, "ip daddr 10.9.8.7 tcp dport 3128 accept\n    meta l4proto tcp reject with tcp reset\n"
                  "    reject with icmpx type admin-prohibited\n  }\n}\n");
    assert_null(strstr(buf, "dport 53"));
    assert_null(strstr(buf, "udp"));
    /* the proxy's rule comes before everything but lo */
    assert_true(strstr(buf, "oifname \"lo\" accept") < strstr(buf, "10.9.8.7"));
    /* a proxy on a host address, or in SANDQ_NET_DENY, is refused */
    p.proxy_addr = 0xcb007105;
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), -1);
    assert_int_equal(err.code, SQ_FORBIDDEN);
    assert_string_equal(err.field, "body.capabilities.proxy.url");
    p.proxy_addr = 0xc6336405; /* 198.51.100.5 */
    p.deny = "198.51.100.0/24";
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), -1);
    assert_int_equal(err.code, SQ_FORBIDDEN);
}

/* network.allowOut/denyOut: deny first (before DNS), allow-list before the
 * operator's SANDQ_NET_ALLOW, the built-in blocks still after it. */
static void test_render_out_lists(void **state)
{
    (void)state;
    sq_netpolicy p = {.allow = "10.1.2.3/32", .out_allow = "93.184.216.34/32, 10.1.2.3/32",
                      .out_deny = "93.184.216.0/24"};
    char buf[8192];
    sq_err err = {0};
    assert_int_equal(sq_netpolicy_render(&p, buf, sizeof buf, &err), 0);
    CHECK_IN(buf, "set out_allow4 {\n    type ipv4_addr; flags interval; auto-merge;\n"
                  "    elements = { 93.184.216.34/32, 10.1.2.3/32 }");
    CHECK_IN(buf, "set out_deny4 {\n    type ipv4_addr; flags interval; auto-merge;\n    elements = { 93.184.216.0/24 }");
    const char *deny = strstr(buf, "ip daddr @out_deny4 meta l4proto tcp reject with tcp reset");
    const char *dns = strstr(buf, "udp dport 53 accept");
    const char *allow = strstr(buf, "ip daddr != @out_allow4 meta l4proto tcp reject with tcp reset");
    const char *op_allow = strstr(buf, "ip daddr @allowed4 accept");
    const char *blocked = strstr(buf, "ip daddr @blocked4 meta");
    assert_non_null(deny);
    assert_non_null(allow);
    assert_true(deny < dns && dns < allow && allow < op_allow && op_allow < blocked);
    CHECK_IN(buf, "ip daddr != @out_allow4 reject with icmpx type admin-prohibited");
    /* without lists, none of it */
    sq_netpolicy none = {0};
    assert_int_equal(sq_netpolicy_render(&none, buf, sizeof buf, &err), 0);
    assert_null(strstr(buf, "out_"));
    /* a bad entry names the field */
    sq_netpolicy bad = {.out_allow = "10.0.0.1/8"};
    assert_int_equal(sq_netpolicy_render(&bad, buf, sizeof buf, &err), -1);
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_string_equal(err.field, "body.network.allowOut");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_render_blocks_private_and_host),
        cmocka_unit_test(test_render_allow_list),
        cmocka_unit_test(test_render_refuses_bad_lists),
        cmocka_unit_test(test_render_too_small),
        cmocka_unit_test(test_sandbox_dns_parse),
        cmocka_unit_test(test_sandbox_resolv_conf),
        cmocka_unit_test(test_render_with_sandbox_dns),
        cmocka_unit_test(test_render_with_proxy),
        cmocka_unit_test(test_render_out_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
