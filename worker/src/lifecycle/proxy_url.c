/* proxy_url.c — see proxy_url.h. No I/O. */
#include "lifecycle/proxy_url.h"

#include <stdio.h>
#include <string.h>

static const char *const schemes[] = {"http", "https", "socks5", "socks5h", NULL};

int sq_proxy_url_parse(const char *url, sq_proxy_url *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *sep = strstr(url, "://");
    size_t slen = sep ? (size_t)(sep - url) : 0;
    bool known = false;
    for (const char *const *s = schemes; *s && sep; s++)
        known = known || (strlen(*s) == slen && strncmp(url, *s, slen) == 0);
    if (!known) {
        *why = "a proxy url is http://, https://, socks5:// or socks5h://";
        return -1;
    }
    memcpy(out->scheme, url, slen);
    size_t start = slen + 3;
    size_t end = start + strcspn(url + start, "/?#");
    if (url[end] && strcmp(url + end, "/") != 0) {
        *why = "a proxy url has no path, query or fragment";
        return -1;
    }
    /* The last '@' ends the userinfo (a password may contain '@' only
     * percent-encoded, but be lenient about which '@' splits). */
    size_t host_start = start;
    for (size_t i = start; i < end; i++)
        if (url[i] == '@')
            host_start = i + 1;
    if (host_start > start) {
        out->has_user = true;
        out->user_start = start;
        size_t colon = start + strcspn(url + start, ":@");
        out->user_end = colon < host_start - 1 ? colon : host_start - 1;
        if (url[colon] == ':' && colon < host_start - 1) {
            out->has_password = true;
            out->pass_start = colon + 1;
            out->pass_end = host_start - 1;
        }
    }
    if (url[host_start] == '[') {
        *why = "a proxy url's host is a name or an IPv4 address (sandboxes have no IPv6)";
        return -1;
    }
    size_t host_end = host_start + strcspn(url + host_start, ":/?#");
    if (host_end > end)
        host_end = end;
    size_t hlen = host_end - host_start;
    if (hlen == 0 || hlen >= sizeof out->host) {
        *why = "a proxy url needs a host";
        return -1;
    }
    for (size_t i = host_start; i < host_end; i++) {
        char c = url[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
            *why = "a proxy url's host is a DNS name or an IPv4 address";
            return -1;
        }
    }
    memcpy(out->host, url + host_start, hlen);
    out->port = strcmp(out->scheme, "https") == 0 ? 443 : 1080;
    if (host_end < end && url[host_end] == ':') {
        unsigned long v = 0;
        size_t i = host_end + 1;
        if (i == end) {
            *why = "a proxy url's port is a number 1..65535";
            return -1;
        }
        for (; i < end; i++) {
            if (url[i] < '0' || url[i] > '9' || (v = v * 10 + (unsigned long)(url[i] - '0')) > 65535) {
                *why = "a proxy url's port is a number 1..65535";
                return -1;
            }
        }
        if (v == 0) {
            *why = "a proxy url's port is a number 1..65535";
            return -1;
        }
        out->port = (uint16_t)v;
    }
    return 0;
}

int sq_proxy_url_redacted(const char *url, const sq_proxy_url *p, char *out, size_t size)
{
    int n = p->has_password ? snprintf(out, size, "%.*s***%s", (int)p->pass_start, url, url + p->pass_end)
                            : snprintf(out, size, "%s", url);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int sq_proxy_url_bare(const sq_proxy_url *p, char *out, size_t size)
{
    int n = snprintf(out, size, "%s://%s:%u", p->scheme, p->host, (unsigned)p->port);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
