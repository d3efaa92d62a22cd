/* relay.c — see relay.h. No I/O. */
#include "caps/browser/relay.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* url[start, end) percent-decoded into out (a '%' not followed by two hex
 * digits stays as it is, as curl leaves it). -1: too long, -2: a NUL. */
static int decode(const char *url, size_t start, size_t end, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = start; i < end; i++) {
        char c = url[i];
        if (c == '%' && i + 2 < end && hex(url[i + 1]) >= 0 && hex(url[i + 2]) >= 0) {
            c = (char)(hex(url[i + 1]) * 16 + hex(url[i + 2]));
            i += 2;
        }
        if (c == '\0')
            return -2; /* %00 */
        if (n + 1 >= size)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

/* tinyproxy reads its configuration line by line: a line break would be a
 * line of the user's choosing. */
static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return true;
    return false;
}

static int build(const char *url, const sq_proxy_url *p, uint32_t addr, char *user, char *pass, char *out, size_t size,
                 const char **why)
{
    if (strcmp(p->scheme, "http") != 0) {
        *why = "the browser reaches a proxy with credentials through a relay that speaks to http:// proxies only "
               "(https:// and SOCKS proxies with credentials work for commands, not for the browser)";
        return -1;
    }
    int du = p->has_user ? decode(url, p->user_start, p->user_end, user, 1024) : 0;
    int dp = p->has_password ? decode(url, p->pass_start, p->pass_end, pass, 1024) : 0;
    if (du == -1 || dp == -1) {
        *why = "the proxy's credentials are too long";
        return -1;
    }
    if (du == -2 || dp == -2 || has_control(user) || has_control(pass)) {
        *why = "the browser's relay cannot carry a proxy user name or password with control characters";
        return -1;
    }
    if (strchr(user, ':')) {
        *why = "the browser's relay cannot carry a proxy user name containing ':'";
        return -1;
    }
    if (strchr(pass, '@')) {
        *why = "the browser's relay cannot carry a proxy password containing '@'";
        return -1;
    }
    /* No Via header: the proxy sees the browser's requests as the
     * commands' look. LogLevel Critical: tinyproxy logs no request (and
     * never its upstream's credentials) into the sandbox's tmpfs. */
    int n = snprintf(out, size,
                     "# The browser's relay to the sandbox's proxy, written by the sandq worker (docs/egress.md)\n"
                     "Port %d\n"
                     "Listen 127.0.0.1\n"
                     "Timeout 600\n"
                     "MaxClients 256\n"
                     "LogLevel Critical\n"
                     "DisableViaHeader Yes\n"
                     "Upstream http %s:%s@%u.%u.%u.%u:%u\n",
                     SQ_RELAY_PORT, user, pass, (unsigned)(addr >> 24) & 255, (unsigned)(addr >> 16) & 255,
                     (unsigned)(addr >> 8) & 255, (unsigned)addr & 255, (unsigned)p->port);
    if (n < 0 || (size_t)n >= size) {
        *why = "the proxy's credentials are too long";
        return -1;
    }
    return 0;
}

int sq_relay_conf(const char *url, const sq_proxy_url *p, uint32_t addr, char *out, size_t size, const char **why)
{
    char user[1024] = "", pass[1024] = "";
    int rc = build(url, p, addr, user, pass, out, size, why);
    explicit_bzero(user, sizeof user); /* the decoded credentials live on in out only */
    explicit_bzero(pass, sizeof pass);
    if (rc < 0)
        explicit_bzero(out, size);
    return rc;
}
