/* netpolicy.h — the egress rules of the "internet" network mode (pure logic).
 *
 * In internet mode the sandbox's packets leave through slirp4netns, which opens
 * ordinary sockets in the worker's network namespace. Without rules, that would
 * let the sandbox reach anything the worker can: the host's own addresses
 * (every service bound to 0.0.0.0), the private network where Redis,
 * PostgreSQL and Kafka live, cloud metadata at 169.254.169.254. So the
 * sandbox's own network namespace gets an nftables output chain that rejects
 * those destinations before a packet reaches slirp4netns; the sandbox cannot
 * change it (it has no CAP_NET_ADMIN). slirp4netns itself is started with
 * --disable-host-loopback, so its gateway address does not lead to the host's
 * 127.0.0.1 either.
 *
 * This file only renders the ruleset text for `nft -f`; netstack.c loads it. */
#ifndef SQ_NETPOLICY_H
#define SQ_NETPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"

/* slirp4netns's fixed addresses with --configure. */
#define SQ_SLIRP_DNS "10.0.2.3"

typedef struct sq_cidr4 {
    uint32_t addr; /* host byte order, already masked */
    int prefix;    /* 0..32 */
} sq_cidr4;

/* Parse "a.b.c.d" or "a.b.c.d/n" (host bits must be zero). 0 or -1. */
int sq_cidr4_parse(const char *text, size_t len, sq_cidr4 *out);
/* Whether c covers addr. */
int sq_cidr4_contains(const sq_cidr4 *c, uint32_t addr);

typedef struct sq_netpolicy {
    /* The host's own IPv4 addresses (host byte order). */
    const uint32_t *host_addrs;
    size_t nhost;
    /* Operator lists of CIDRs, separated by commas and/or spaces; NULL or "" =
     * none. allow wins over every block (a proxy on the private network);
     * deny adds destinations (public addresses of the worker's services). */
    const char *allow;
    const char *deny;
} sq_netpolicy;

/* Check a CIDR list as sq_netpolicy_render would (name is used in messages). */
int sq_netpolicy_check(const char *list, const char *name, sq_err *err);

/* Render the nft ruleset into buf. -1 with err (SQ_INVALID_REQUEST naming
 * the list) when a CIDR does not parse or buf is too small. */
int sq_netpolicy_render(const sq_netpolicy *p, char *buf, size_t size, sq_err *err);

#endif
