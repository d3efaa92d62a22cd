/* webhook_ssrf.h — which addresses a webhook may connect to.
 *
 * Webhook URLs come from users (sandbox.create) and tenants, so a delivery
 * must not become a way into the worker's own network: the delivery thread
 * resolves the host first, classifies every address with sq_addr_classify,
 * and pins curl to the checked address (CURLOPT_RESOLVE); curl's
 * open-socket callback checks the address again right before connect().
 *
 * Pure: classification only, no resolving; unit-tested in
 * tests/unit/test_webhook_ssrf.c. */
#ifndef SQ_WEBHOOK_SSRF_H
#define SQ_WEBHOOK_SSRF_H

#include <stdbool.h>
#include <sys/socket.h>

typedef enum sq_addr_class {
    SQ_ADDR_PUBLIC = 0,
    SQ_ADDR_LOOPBACK,      /* 127/8, ::1 */
    SQ_ADDR_PRIVATE,       /* 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), 198.18/15, fc00::/7, fec0::/10 */
    SQ_ADDR_LINK_LOCAL,    /* 169.254/16, fe80::/10 */
    SQ_ADDR_METADATA,      /* 169.254.169.254, 100.100.100.200, 168.63.129.16 (Azure), fd00:ec2::254: cloud instance metadata */
    SQ_ADDR_UNSPECIFIED,   /* 0/8, :: */
    SQ_ADDR_MULTICAST,     /* 224/4, ff00::/8 */
    SQ_ADDR_RESERVED,      /* 240/4 and broadcast, 192.0.0/24, documentation ranges, other families */
} sq_addr_class;

/* The class of an AF_INET or AF_INET6 address. IPv6 addresses that embed an
 * IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64
 * 64:ff9b::/96, 6to4 2002::/16) are classified by the embedded address. */
sq_addr_class sq_addr_classify(const struct sockaddr *sa);
sq_addr_class sq_addr_classify_v4(const unsigned char a[4]);
sq_addr_class sq_addr_classify_v6(const unsigned char a[16]);

/* "public", "loopback", "private", "link_local", "metadata", "unspecified", … */
const char *sq_addr_class_name(sq_addr_class c);

/* May a webhook connect to an address of class c? Public: always. Loopback,
 * private and link-local: only when the operator allows private targets
 * (SANDQ_WEBHOOK_ALLOW_PRIVATE=1, for local tests and private deployments).
 * Metadata, unspecified, multicast and reserved: never. */
bool sq_addr_allowed(sq_addr_class c, bool allow_private);

#endif
