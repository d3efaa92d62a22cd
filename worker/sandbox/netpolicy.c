/* netpolicy.c — see netpolicy.h. No I/O. */
#include "netpolicy.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Destinations no sandbox reaches (RFC 6890 special-purpose IPv4 ranges that
 * are not the public internet), whatever the host has. */
static const char *const blocked_ranges[] = {
    "0.0.0.0/8",       /* "this network" */
    "10.0.0.0/8",      /* private; also slirp4netns's own 10.0.2.0/24 */
    "100.64.0.0/10",   /* carrier-grade NAT */
    "127.0.0.0/8",     /* loopback (only reachable through lo, which stays allowed) */
    "169.254.0.0/16",  /* link-local: cloud metadata services */
    "172.16.0.0/12",   /* private */
    "192.0.0.0/24",    /* IETF protocol assignments */
    "192.168.0.0/16",  /* private */
    "198.18.0.0/15",   /* benchmarking */
    "224.0.0.0/4",     /* multicast */
    "240.0.0.0/4",     /* reserved, broadcast */
    /* Azure's WireServer and its DNS (host-only metadata, a public address):
     * on an Azure VM it answers whoever asks from the VM, slirp4netns included */
    "168.63.129.16/32",
    NULL};

int sq_cidr4_parse(const char *text, size_t len, sq_cidr4 *out)
{
    uint32_t parts[4];
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (i >= len || text[i] != '.')
                return -1;
            i++;
        }
        size_t start = i;
        uint32_t v = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9' && i - start < 3)
            v = v * 10 + (uint32_t)(text[i++] - '0');
        if (i == start || v > 255 || (i - start > 1 && text[start] == '0'))
            return -1;
        parts[k] = v;
    }
    int prefix = 32;
    if (i < len && text[i] == '/') {
        i++;
        size_t start = i;
        int v = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9' && i - start < 2)
            v = v * 10 + (text[i++] - '0');
        if (i == start || v > 32 || (i - start > 1 && text[start] == '0'))
            return -1;
        prefix = v;
    }
    if (i != len)
        return -1;
    uint32_t addr = parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3];
    uint32_t mask = prefix == 0 ? 0 : ~UINT32_C(0) << (32 - prefix);
    if (addr & ~mask)
        return -1;
    out->addr = addr;
    out->prefix = prefix;
    return 0;
}

int sq_cidr4_contains(const sq_cidr4 *c, uint32_t addr)
{
    uint32_t mask = c->prefix == 0 ? 0 : ~UINT32_C(0) << (32 - c->prefix);
    return (addr & mask) == c->addr;
}

typedef struct out {
    char *buf;
    size_t size, len;
    bool overflow;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->size - o->len) {
        o->overflow = true;
        o->len = o->size - 1;
        return;
    }
    o->len += (size_t)n;
}

static void put_cidr(out *o, const sq_cidr4 *c, bool *first)
{
    put(o, "%s%u.%u.%u.%u/%d", *first ? "" : ", ", c->addr >> 24, c->addr >> 16 & 255, c->addr >> 8 & 255,
        c->addr & 255, c->prefix);
    *first = false;
}

/* Walk a comma/space separated list; calls fn for each parsed CIDR. */
static int each_cidr(const char *list, const char *name, sq_err *err, void (*fn)(void *, const sq_cidr4 *),
                     void *user)
{
    if (!list)
        return 0;
    const char *p = list;
    for (;;) {
        p += strspn(p, ", \t\n");
        if (!*p)
            return 0;
        size_t n = strcspn(p, ", \t\n");
        sq_cidr4 c;
        if (sq_cidr4_parse(p, n, &c) < 0)
            return sq_err_field(err, SQ_INVALID_REQUEST, name,
                                "%s: \"%.*s\" is not an IPv4 address or CIDR (a.b.c.d/n, host bits zero)", name,
                                (int)(n > 64 ? 64 : n), p);
        fn(user, &c);
        p += n;
    }
}

typedef struct list_ctx {
    out *o;
    bool first;
    size_t count;
} list_ctx;

static void emit_one(void *user, const sq_cidr4 *c)
{
    list_ctx *l = user;
    put_cidr(l->o, c, &l->first);
    l->count++;
}

static void count_one(void *user, const sq_cidr4 *c)
{
    (void)c;
    (*(size_t *)user)++;
}

int sq_netpolicy_check(const char *list, const char *name, sq_err *err)
{
    size_t n = 0;
    return each_cidr(list, name, err, count_one, &n);
}

int sq_netpolicy_dns_parse(const char *list, uint32_t addrs[SQ_DNS_MAX], size_t *n, sq_err *err)
{
    static const char *const unreachable[] = {"0.0.0.0/8", "127.0.0.0/8", "10.0.2.0/24", "224.0.0.0/3", NULL};
    *n = 0;
    for (const char *p = list ? list : "";;) {
        p += strspn(p, ", \t\n");
        if (!*p)
            return 0;
        size_t len = strcspn(p, ", \t\n");
        sq_cidr4 c;
        if (sq_cidr4_parse(p, len, &c) < 0 || c.prefix != 32)
            return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_SANDBOX_DNS",
                                "SANDQ_SANDBOX_DNS: \"%.*s\" is not an IPv4 address", (int)(len > 64 ? 64 : len), p);
        for (const char *const *r = unreachable; *r; r++) {
            sq_cidr4 u;
            sq_cidr4_parse(*r, strlen(*r), &u);
            if (sq_cidr4_contains(&u, c.addr))
                return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_SANDBOX_DNS",
                                    "SANDQ_SANDBOX_DNS: %.*s is in %s, which a sandbox cannot reach through "
                                    "slirp4netns (loopback is the sandbox's own); name the resolver's address on "
                                    "the network",
                                    (int)len, p, *r);
        }
        if (*n == SQ_DNS_MAX)
            return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_SANDBOX_DNS",
                                "SANDQ_SANDBOX_DNS: more than %d addresses (resolv.conf uses the first %d)", SQ_DNS_MAX,
                                SQ_DNS_MAX);
        addrs[(*n)++] = c.addr;
        p += len;
    }
}

int sq_netpolicy_resolv_conf(const uint32_t *dns, size_t n, char *buf, size_t size)
{
    out o = {.buf = buf, .size = size};
    if (size == 0)
        return -1;
    buf[0] = '\0';
    if (n == 0)
        put(&o, "nameserver " SQ_SLIRP_DNS "\n");
    for (size_t i = 0; i < n; i++)
        put(&o, "nameserver %u.%u.%u.%u\n", dns[i] >> 24, dns[i] >> 16 & 255, dns[i] >> 8 & 255, dns[i] & 255);
    put(&o, "options edns0\n");
    return o.overflow ? -1 : 0;
}

typedef struct hit_ctx {
    uint32_t addr;
    bool hit;
} hit_ctx;

static void hit_one(void *user, const sq_cidr4 *c)
{
    hit_ctx *h = user;
    h->hit = h->hit || sq_cidr4_contains(c, h->addr);
}

/* A named set of CIDRs (nothing when the list is empty). */
static void put_set(out *o, const char *set, const char *list, const char *name, sq_err *err)
{
    put(o, "  set %s {\n    type ipv4_addr; flags interval; auto-merge;\n    elements = { ", set);
    list_ctx l = {.o = o, .first = true};
    each_cidr(list, name, err, emit_one, &l);
    put(o, " }\n  }\n");
}

static void put_reject(out *o, const char *match)
{
    /* A TCP reset makes connect() fail at once with ECONNREFUSED; everything
     * else gets "administratively prohibited" (EHOSTUNREACH). */
    put(o, "    %smeta l4proto tcp reject with tcp reset\n", match);
    put(o, "    %sreject with icmpx type admin-prohibited\n", match);
}

int sq_netpolicy_render(const sq_netpolicy *p, char *buf, size_t size, sq_err *err)
{
    if (size == 0)
        return sq_err_set(err, SQ_INTERNAL, "netpolicy: no buffer");
    size_t nallow = 0, ndeny = 0, nout_allow = 0, nout_deny = 0;
    if (each_cidr(p->allow, "SANDQ_NET_ALLOW", err, count_one, &nallow) < 0 ||
        each_cidr(p->deny, "SANDQ_NET_DENY", err, count_one, &ndeny) < 0 ||
        each_cidr(p->out_allow, "body.network.allowOut", err, count_one, &nout_allow) < 0 ||
        each_cidr(p->out_deny, "body.network.denyOut", err, count_one, &nout_deny) < 0)
        return -1;
    if (p->proxy_port) {
        /* The proxy's rule comes first, so it must not open what the
         * operator closed: the host's own addresses, SANDQ_NET_DENY. */
        hit_ctx h = {.addr = p->proxy_addr};
        for (size_t i = 0; i < p->nhost; i++)
            h.hit = h.hit || p->host_addrs[i] == p->proxy_addr;
        each_cidr(p->deny, "SANDQ_NET_DENY", err, hit_one, &h);
        if (h.hit)
            return sq_err_field(err, SQ_FORBIDDEN, "body.capabilities.proxy.url",
                                "the proxy's address %u.%u.%u.%u is one this worker's sandboxes may not reach "
                                "(a host address or SANDQ_NET_DENY)",
                                p->proxy_addr >> 24, p->proxy_addr >> 16 & 255, p->proxy_addr >> 8 & 255,
                                p->proxy_addr & 255);
    }

    out o = {.buf = buf, .size = size};
    buf[0] = '\0';
    /* Interval sets with auto-merge: a host address inside 10.0.0.0/8, or an
     * operator range overlapping a built-in one, is merged rather than refused. */
    put(&o, "table inet sandq {\n");
    put(&o, "  set blocked4 {\n    type ipv4_addr; flags interval; auto-merge;\n    elements = { ");
    bool first = true;
    for (const char *const *r = blocked_ranges; *r; r++) {
        sq_cidr4 c;
        sq_cidr4_parse(*r, strlen(*r), &c);
        put_cidr(&o, &c, &first);
    }
    for (size_t i = 0; i < p->nhost; i++) {
        sq_cidr4 c = {.addr = p->host_addrs[i], .prefix = 32};
        put_cidr(&o, &c, &first);
    }
    list_ctx deny = {.o = &o, .first = false};
    each_cidr(p->deny, "SANDQ_NET_DENY", err, emit_one, &deny);
    put(&o, " }\n  }\n");
    if (nallow > 0) {
        put(&o, "  set allowed4 {\n    type ipv4_addr; flags interval; auto-merge;\n    elements = { ");
        list_ctx allow = {.o = &o, .first = true};
        each_cidr(p->allow, "SANDQ_NET_ALLOW", err, emit_one, &allow);
        put(&o, " }\n  }\n");
    }
    if (nout_allow > 0)
        put_set(&o, "out_allow4", p->out_allow, "body.network.allowOut", err);
    if (nout_deny > 0)
        put_set(&o, "out_deny4", p->out_deny, "body.network.denyOut", err);
    put(&o, "  chain egress {\n    type filter hook output priority 0; policy accept;\n");
    put(&o, "    oifname \"lo\" accept\n");
    if (p->proxy_port) {
        /* Enforced proxy: its pinned address and port, TCP, and nothing else
         * — no DNS either (a proxy client sends names to the proxy), so no
         * UDP at all leaves the sandbox. */
        put(&o, "    ip daddr %u.%u.%u.%u tcp dport %u accept\n", p->proxy_addr >> 24, p->proxy_addr >> 16 & 255,
            p->proxy_addr >> 8 & 255, p->proxy_addr & 255, (unsigned)p->proxy_port);
        put_reject(&o, "");
        put(&o, "  }\n}\n");
        if (o.overflow)
            return sq_err_set(err, SQ_INTERNAL, "netpolicy: ruleset longer than %zu bytes", size);
        return 0;
    }
    if (nout_deny > 0)
        put_reject(&o, "ip daddr @out_deny4 "); /* deny wins over allow, and over DNS */
    if (p->ndns == 0) {
        /* slirp4netns relays 10.0.2.3:53 to the host's resolver. */
        put(&o, "    ip daddr " SQ_SLIRP_DNS " udp dport 53 accept\n");
        put(&o, "    ip daddr " SQ_SLIRP_DNS " tcp dport 53 accept\n");
    } else {
        /* The operator's resolvers, on port 53 only: one on a private
         * address is reachable for DNS and for nothing else. (slirp4netns
         * runs with --disable-dns then: 10.0.2.3 falls in the block below.) */
        for (const char *proto = "udp";; proto = "tcp") {
            put(&o, "    ip daddr { ");
            for (size_t i = 0; i < p->ndns; i++)
                put(&o, "%s%u.%u.%u.%u", i ? ", " : "", p->dns[i] >> 24, p->dns[i] >> 16 & 255,
                    p->dns[i] >> 8 & 255, p->dns[i] & 255);
            put(&o, " } %s dport 53 accept\n", proto);
            if (strcmp(proto, "tcp") == 0)
                break;
        }
    }
    /* An allow-list: what it does not name is refused here, before the
     * operator's SANDQ_NET_ALLOW; what it names still meets the blocks below. */
    if (nout_allow > 0)
        put_reject(&o, "ip daddr != @out_allow4 ");
    if (nallow > 0)
        put(&o, "    ip daddr @allowed4 accept\n");
    put_reject(&o, "ip daddr @blocked4 ");
    /* slirp4netns runs without IPv6; nothing of it may leave either. */
    put(&o, "    meta nfproto ipv6 reject with icmpx type admin-prohibited\n");

    put(&o, "  }\n}\n");
    if (o.overflow)
        return sq_err_set(err, SQ_INTERNAL, "netpolicy: ruleset longer than %zu bytes", size);
    return 0;
}
