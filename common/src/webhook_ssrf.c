/* webhook_ssrf.c — see webhook_ssrf.h. */
#include "sq/webhook_ssrf.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static bool in4(const unsigned char a[4], uint32_t net, int bits)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (v & mask) == (net & mask);
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

sq_addr_class sq_addr_classify_v4(const unsigned char a[4])
{
    /* AWS/GCP/Azure IMDS, Alibaba's, and Azure's WireServer (a public address
     * that only answers from inside an Azure VM, so "public" would pass it). */
    if (in4(a, IP4(169, 254, 169, 254), 32) || in4(a, IP4(100, 100, 100, 200), 32) ||
        in4(a, IP4(168, 63, 129, 16), 32))
        return SQ_ADDR_METADATA;
    if (in4(a, IP4(0, 0, 0, 0), 8))
        return SQ_ADDR_UNSPECIFIED;
    if (in4(a, IP4(127, 0, 0, 0), 8))
        return SQ_ADDR_LOOPBACK;
    if (in4(a, IP4(10, 0, 0, 0), 8) || in4(a, IP4(172, 16, 0, 0), 12) || in4(a, IP4(192, 168, 0, 0), 16) ||
        in4(a, IP4(100, 64, 0, 0), 10) || in4(a, IP4(198, 18, 0, 0), 15))
        return SQ_ADDR_PRIVATE;
    if (in4(a, IP4(169, 254, 0, 0), 16))
        return SQ_ADDR_LINK_LOCAL;
    if (in4(a, IP4(224, 0, 0, 0), 4))
        return SQ_ADDR_MULTICAST;
    if (in4(a, IP4(240, 0, 0, 0), 4) || in4(a, IP4(192, 0, 0, 0), 24) || in4(a, IP4(192, 0, 2, 0), 24) ||
        in4(a, IP4(198, 51, 100, 0), 24) || in4(a, IP4(203, 0, 113, 0), 24))
        return SQ_ADDR_RESERVED;
    return SQ_ADDR_PUBLIC;
}

static bool zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

sq_addr_class sq_addr_classify_v6(const unsigned char a[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char ec2[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
    if (zero(a, 16))
        return SQ_ADDR_UNSPECIFIED;
    if (zero(a, 15) && a[15] == 1)
        return SQ_ADDR_LOOPBACK;
    /* IPv4 inside IPv6: judge the IPv4 address, or ::ffff:127.0.0.1 walks past a v4-only check. */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 || zero(a, 12))
        return sq_addr_classify_v4(a + 12);
    if (a[0] == 0x20 && a[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
        return sq_addr_classify_v4(a + 2);
    if (memcmp(a, ec2, 16) == 0)
        return SQ_ADDR_METADATA;
    if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0))
        return SQ_ADDR_PRIVATE; /* fc00::/7 unique local, fec0::/10 site-local */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return SQ_ADDR_LINK_LOCAL;
    if (a[0] == 0xff)
        return SQ_ADDR_MULTICAST;
    if ((a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || zero(a, 8) || (a[0] & 0xe0) != 0x20)
        return SQ_ADDR_RESERVED; /* documentation, ::/64 leftovers, everything outside 2000::/3 */
    return SQ_ADDR_PUBLIC;
}

sq_addr_class sq_addr_classify(const struct sockaddr *sa)
{
    if (!sa)
        return SQ_ADDR_RESERVED;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return sq_addr_classify_v4((const unsigned char *)&s4->sin_addr.s_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return sq_addr_classify_v6(s6->sin6_addr.s6_addr);
    }
    return SQ_ADDR_RESERVED;
}

const char *sq_addr_class_name(sq_addr_class c)
{
    static const char *const names[] = {"public",      "loopback",  "private",  "link_local",
                                        "metadata",    "unspecified", "multicast", "reserved"};
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "reserved";
}

bool sq_addr_allowed(sq_addr_class c, bool allow_private)
{
    switch (c) {
    case SQ_ADDR_PUBLIC: return true;
    case SQ_ADDR_LOOPBACK:
    case SQ_ADDR_PRIVATE:
    case SQ_ADDR_LINK_LOCAL: return allow_private;
    default: return false;
    }
}
