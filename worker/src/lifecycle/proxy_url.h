/* proxy_url.h — capabilities.proxy.url taken apart (pure logic).
 *
 * The worker pins the proxy's address into the sandbox's egress chain
 * (lifecycle/egress.c), gives commands the whole URL (credentials included:
 * they authenticate to the proxy themselves), gives the browser the URL
 * without credentials, and shows everyone else (events, PostgreSQL, logs)
 * the URL with the password replaced by "***". */
#ifndef SQ_PROXY_URL_H
#define SQ_PROXY_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_PROXY_URL_MAX 2048

typedef struct sq_proxy_url {
    char scheme[16]; /* http, https, socks5, socks5h */
    char host[256];  /* a DNS name or an IPv4 literal */
    uint16_t port;   /* explicit, or curl's default (1080; https 443) */
    bool has_user, has_password;
    /* [start, end) of the userinfo in the original text ("user:pass"). */
    size_t user_start, user_end, pass_start, pass_end;
} sq_proxy_url;

/* Parse scheme://[user[:password]@]host[:port][/]. IPv6 literals are refused
 * (the sandbox has no IPv6 route). 0, or -1 with a reason in why. */
int sq_proxy_url_parse(const char *url, sq_proxy_url *out, const char **why);

/* url with the password replaced by "***" (no password: url as is). */
int sq_proxy_url_redacted(const char *url, const sq_proxy_url *p, char *out, size_t size);

/* scheme://host:port, without credentials (Chromium's --proxy-server). */
int sq_proxy_url_bare(const sq_proxy_url *p, char *out, size_t size);

#endif
