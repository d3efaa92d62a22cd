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

/* SANDQ_SANDBOX_DNS: the DNS servers internet-mode sandboxes use instead of
 * slirp4netns's forwarder at 10.0.2.3 (which relays to whatever the host's
 * /etc/resolv.conf names, a loopback service such as 127.0.0.53 included).
 * At most SQ_DNS_MAX (resolv.conf's own limit) IPv4 addresses, separated by
 * commas and/or spaces. Refused: what a packet from the sandbox can never
 * reach through slirp4netns (0.0.0.0/8, loopback — the sandbox's own lo —,
 * slirp's 10.0.2.0/24, multicast and reserved). NULL or "" → n = 0. */
#define SQ_DNS_MAX 3
int sq_netpolicy_dns_parse(const char *list, uint32_t addrs[SQ_DNS_MAX], size_t *n, sq_err *err);
/* The sandbox's /etc/resolv.conf in internet mode: "nameserver 10.0.2.3"
 * without upstreams, else one line per upstream. -1 if size is too small. */
int sq_netpolicy_resolv_conf(const uint32_t *dns, size_t n, char *buf, size_t size);

typedef struct sq_netpolicy {
    /* The host's own IPv4 addresses (host byte order). */
    const uint32_t *host_addrs;
    size_t nhost;
    /* Operator lists of CIDRs, separated by commas and/or spaces; NULL or "" =
     * none. allow wins over every block (a proxy on the private network);
     * deny adds destinations (public addresses of the worker's services). */
    const char *allow;
    const char *deny;
    /* SANDQ_SANDBOX_DNS (sq_netpolicy_dns_parse): with n > 0, DNS (port 53,
     * UDP and TCP) may go to these and no longer to slirp's 10.0.2.3. */
    const uint32_t *dns;
    size_t ndns;
    /* The sandbox's own lists (create's network.allowOut/denyOut, domain
     * names already resolved to /32s by the worker), CIDR text as above.
     * out_deny is rejected first (deny wins); with out_allow, what is not in
     * it is rejected (DNS stays reachable); the built-in blocks still apply
     * to what out_allow names. */
    const char *out_allow;
    const char *out_deny;
    /* capabilities.proxy, pinned: with proxy_port != 0, TCP to
     * proxy_addr:proxy_port is the only thing that leaves (no DNS, no UDP).
     * The worker checked its class (public, or private with
     * SANDQ_PROXY_ALLOW_PRIVATE); render refuses one that is a host address
     * or in SANDQ_NET_DENY. */
    uint32_t proxy_addr;
    uint16_t proxy_port;
} sq_netpolicy;

/* Check a CIDR list as sq_netpolicy_render would (name is used in messages). */
int sq_netpolicy_check(const char *list, const char *name, sq_err *err);

/* Render the nft ruleset into buf. -1 with err (SQ_INVALID_REQUEST naming
 * the list) when a CIDR does not parse or buf is too small. */
int sq_netpolicy_render(const sq_netpolicy *p, char *buf, size_t size, sq_err *err);

#endif
