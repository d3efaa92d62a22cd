/* proxy_env.c — see proxy_env.h. No I/O.
 *
 * Which names: curl, wget, pip, npm, Python's urllib and requests, Go and
 * Node's undici-based clients each read some of HTTP_PROXY/http_proxy,
 * HTTPS_PROXY/https_proxy and ALL_PROXY/all_proxy (curl ignores uppercase
 * HTTP_PROXY for CGI reasons; others prefer uppercase) — so all six are set.
 * NO_PROXY keeps the sandbox's own loopback servers direct. */
#include "lifecycle/proxy_env.h"

static const char *const proxy_names[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                          "ALL_PROXY",  "all_proxy",  NULL};
static const char no_proxy[] = "localhost,127.0.0.1,::1";

static int set_missing(json_t *env, const char *k, const char *v)
{
    if (json_object_get(env, k))
        return 0;
    return json_object_set_new(env, k, json_string(v));
}

int sq_proxy_env(const char *url, json_t *env)
{
    if (!url || !*url)
        return 0;
    if (!json_is_object(env))
        return -1;
    for (const char *const *k = proxy_names; *k; k++)
        if (set_missing(env, *k, url) < 0)
            return -1;
    if (set_missing(env, "NO_PROXY", no_proxy) < 0 || set_missing(env, "no_proxy", no_proxy) < 0)
        return -1;
    return 0;
}
