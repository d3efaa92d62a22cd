/* egress.c — see egress.h. The I/O is getaddrinfo: a create names its proxy
 * and its allow/deny domains, the worker resolves them once and pins the
 * addresses into the sandbox's nft chain (worker/sandbox/netpolicy.c).
 *
 * Why pin rather than filter by name: the chain sees packets, not names; a
 * DNS-aware filter (a resolver of the worker's that adds answers to an nft set)
 * would follow changing addresses but is a service per worker with its own
 * failure modes. Pinning is exact and simple; its costs (an address that
 * changes after create is not followed; a CDN address shared with other
 * names lets those through) are in docs/egress.md. */
#include "lifecycle/egress.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sandbox/netpolicy.h"
#include "sq/webhook_secret.h"
#include "sq/webhook_ssrf.h"

#define ADDRS_PER_NAME 32
#define LIST_MAX_BYTES 65536

/* A DNS name: LDH labels of 1..63, 1..253 in all, at least one dot, not all digits. */
static bool domain_valid(const char *s)
{
    size_t len = strlen(s), label = 0;
    bool dot = false, alpha = false;
    if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.' || s[0] == '-')
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == '.') {
            if (label == 0 || p[-1] == '-')
                return false;
            dot = true;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
        if (c == '-' && label == 0)
            return false;
        alpha = alpha || !(c >= '0' && c <= '9');
        if (++label > 63)
            return false;
    }
    return dot && alpha;
}

/* IPv4 addresses of name (host byte order). 0 = does not resolve. */
static size_t resolve4(const char *name, uint32_t *out, size_t max)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return 0;
    size_t n = 0;
    for (struct addrinfo *a = res; a && n < max; a = a->ai_next) {
        uint32_t v = ntohl(((const struct sockaddr_in *)(const void *)a->ai_addr)->sin_addr.s_addr);
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || out[i] == v;
        if (!dup)
            out[n++] = v;
    }
    freeaddrinfo(res);
    return n;
}

static int append(char **list, size_t *len, const char *text)
{
    size_t add = strlen(text) + 2;
    if (*len + add >= LIST_MAX_BYTES)
        return -1;
    char *grown = realloc(*list, *len + add + 1);
    if (!grown)
        return -1;
    *list = grown;
    *len += (size_t)sprintf(grown + *len, "%s%s", *len ? ", " : "", text);
    return 0;
}

/* network.allowOut / denyOut → "cidr, cidr, …" with names resolved. */
static int resolve_list(const json_t *arr, const char *field, char **out, sq_err *err)
{
    size_t i, len = 0;
    const json_t *v;
    if (arr && json_array_size(arr) == 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, field,
                            "%s is empty: leave it out, or use network \"none\" for no egress", field);
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        char f[64], cidr[32];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        sq_cidr4 c;
        if (sq_cidr4_parse(s, strlen(s), &c) == 0) {
            snprintf(cidr, sizeof cidr, "%u.%u.%u.%u/%d", c.addr >> 24, c.addr >> 16 & 255, c.addr >> 8 & 255,
                     c.addr & 255, c.prefix);
            if (append(out, &len, cidr) < 0)
                return sq_err_field(err, SQ_LIMIT_EXCEEDED, f, "%s: the list is too long", f);
            continue;
        }
        if (strchr(s, ':'))
            return sq_err_field(err, SQ_INVALID_REQUEST, f,
                                "%s: IPv6 is never reachable from a sandbox; name IPv4 CIDRs or domains", f);
        if (!domain_valid(s))
            return sq_err_field(err, SQ_INVALID_REQUEST, f,
                                "%s: \"%.64s\" is neither an IPv4 address/CIDR (a.b.c.d/n, host bits zero) nor a "
                                "domain name",
                                f, s);
        uint32_t addrs[ADDRS_PER_NAME];
        size_t n = resolve4(s, addrs, ADDRS_PER_NAME);
        if (n == 0)
            return sq_err_field(err, SQ_INVALID_REQUEST, f, "%s: %.253s has no IPv4 address", f, s);
        for (size_t k = 0; k < n; k++) {
            snprintf(cidr, sizeof cidr, "%u.%u.%u.%u/32", addrs[k] >> 24, addrs[k] >> 16 & 255,
                     addrs[k] >> 8 & 255, addrs[k] & 255);
            if (append(out, &len, cidr) < 0)
                return sq_err_field(err, SQ_LIMIT_EXCEEDED, f, "%s: the list is too long", f);
        }
    }
    return 0;
}

static int resolve_proxy(const sq_worker_config *cfg, const json_t *body, sq_egress *e, sq_err *err)
{
    const json_t *caps = json_object_get(body, "capabilities");
    const char *url = json_string_value(json_object_get(json_object_get(caps, "proxy"), "url"));
    const char *byo = json_string_value(json_object_get(json_object_get(caps, "browser"), "byoProxyUrl"));
    const char *field = url ? "body.capabilities.proxy.url" : "body.capabilities.browser.byoProxyUrl";
    if (url && byo && strcmp(url, byo) != 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.capabilities.browser.byoProxyUrl",
                            "byoProxyUrl and capabilities.proxy.url differ; a sandbox has one proxy");
    if (!url)
        url = byo;
    if (!url)
        return 0;
    const char *why = NULL;
    if (strlen(url) >= SQ_PROXY_URL_MAX || sq_proxy_url_parse(url, &e->proxy, &why) < 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, field, "%s", why ? why : "the proxy url is too long");
    if ((e->proxy.has_password ? e->proxy.pass_end : e->proxy.user_end) - e->proxy.user_start > 256)
        return sq_err_field(err, SQ_INVALID_REQUEST, field, "a proxy url's user:password is at most 256 bytes");
    const json_t *net = json_object_get(body, "network");
    if (json_object_get(net, "allowOut") || json_object_get(net, "denyOut"))
        return sq_err_field(err, SQ_INVALID_REQUEST, json_object_get(net, "allowOut") ? "body.network.allowOut"
                                                                                       : "body.network.denyOut",
                            "with a proxy only the proxy is reachable: filter destinations at the proxy, not with "
                            "allowOut/denyOut");
    uint32_t addr;
    if (resolve4(e->proxy.host, &addr, 1) != 1)
        return sq_err_field(err, SQ_INVALID_REQUEST, field, "the proxy's host %s has no IPv4 address",
                            e->proxy.host);
    unsigned char a[4] = {addr >> 24, addr >> 16 & 255, addr >> 8 & 255, addr & 255};
    sq_addr_class cls = sq_addr_classify_v4(a);
    bool ok = cls == SQ_ADDR_PUBLIC || (cls == SQ_ADDR_PRIVATE && cfg->proxy_allow_private);
    if (!ok)
        return sq_err_field(err, SQ_FORBIDDEN, field, "the proxy's address %u.%u.%u.%u is %s%s", a[0], a[1], a[2],
                            a[3], sq_addr_class_name(cls),
                            cls == SQ_ADDR_PRIVATE ? " (SANDQ_PROXY_ALLOW_PRIVATE=1 allows it on this worker)"
                                                   : ", which no sandbox may reach");
    e->has_proxy = true;
    e->proxy_text = url;
    e->proxy_addr = addr;
    sq_proxy_url_redacted(url, &e->proxy, e->proxy_redacted, sizeof e->proxy_redacted);
    return 0;
}

int sq_egress_resolve(const sq_worker_config *cfg, const json_t *body, sq_egress *e, sq_err *err)
{
    memset(e, 0, sizeof *e);
    const json_t *net = json_object_get(body, "network");
    if (resolve_proxy(cfg, body, e, err) < 0 ||
        resolve_list(json_object_get(net, "allowOut"), "body.network.allowOut", &e->out_allow, err) < 0 ||
        resolve_list(json_object_get(net, "denyOut"), "body.network.denyOut", &e->out_deny, err) < 0) {
        sq_egress_free(e);
        return -1;
    }
    return 0;
}

void sq_egress_apply(const sq_egress *e, sq_sandbox_opts *opts)
{
    opts->out_allow = e->out_allow;
    opts->out_deny = e->out_deny;
    if (e->has_proxy) {
        opts->proxy_addr = e->proxy_addr;
        opts->proxy_port = e->proxy.port;
        opts->proxy_host = e->proxy.host;
    }
}

void sq_egress_free(sq_egress *e)
{
    free(e->out_allow);
    free(e->out_deny);
    e->out_allow = e->out_deny = NULL;
}

json_t *sq_egress_caps_for_store(const json_t *caps, const sq_egress *e, const char *sandbox_id, sq_err *err)
{
    if (!e->has_proxy || !json_is_object(caps))
        return NULL;
    json_t *out = json_deep_copy(caps);
    json_t *browser = json_object_get(out, "browser");
    if (json_object_get(browser, "byoProxyUrl"))
        json_object_set_new(browser, "byoProxyUrl", json_string(e->proxy_redacted));
    json_t *proxy = json_object_get(out, "proxy");
    if (!proxy)
        json_object_set_new(out, "proxy", proxy = json_object());
    json_object_set_new(proxy, "url", json_string(e->proxy_redacted));
    if (!e->proxy.has_user)
        return out;
    /* Only the credentials are sealed (the rest is in the redacted url). A
     * worker without a key keeps them nowhere at rest: "plain:" is for
     * local webhook secrets, never for these. */
    sq_wh_box box;
    if (sq_wh_box_init(&box, getenv("SANDQ_WEBHOOK_SECRET_KEY"), err) < 0) {
        json_decref(out);
        return NULL;
    }
    if (box.has_key) {
        char userinfo[SQ_PROXY_URL_MAX], sealed[SQ_WH_SEALED_MAX];
        size_t end = e->proxy.has_password ? e->proxy.pass_end : e->proxy.user_end;
        snprintf(userinfo, sizeof userinfo, "%.*s", (int)(end - e->proxy.user_start),
                 e->proxy_text + e->proxy.user_start);
        int rc = sq_wh_box_seal(&box, sandbox_id, userinfo, sealed, err);
        memset(userinfo, 0, sizeof userinfo);
        if (rc < 0) {
            memset(&box, 0, sizeof box);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(proxy, "credentialsSealed", json_string(sealed));
        memset(sealed, 0, sizeof sealed);
    }
    memset(&box, 0, sizeof box);
    return out;
}
