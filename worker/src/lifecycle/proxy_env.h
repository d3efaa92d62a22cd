/* proxy_env.h — capabilities.browser.byoProxyUrl as proxy environment
 * variables for the sandbox's processes (pure logic). */
#ifndef SQ_PROXY_ENV_H
#define SQ_PROXY_ENV_H

#include <jansson.h>

/* Add to env (a JSON object of strings) what programs read to find an outbound
 * proxy — HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, their lowercase forms, and
 * NO_PROXY/no_proxy for the sandbox's own loopback — each only if env does not
 * set it already (an explicit env wins). url NULL or "" adds nothing. The url
 * was validated with the request (http, https, socks5, socks5h). -1 on OOM. */
int sq_proxy_env(const char *url, json_t *env);

#endif
