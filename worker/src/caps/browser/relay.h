/* relay.h — the browser's relay to a proxy that wants credentials (pure
 * logic: the relay's configuration text).
 *
 * Chromium's --proxy-server takes no user:password, and a headless browser
 * answers a proxy's 407 with nothing. So when capabilities.proxy.url has
 * credentials, the browser is pointed at a relay inside the sandbox
 * (tinyproxy on 127.0.0.1:SQ_RELAY_PORT in the sandbox's own network
 * namespace) that forwards everything to the real proxy with the
 * credentials added (tinyproxy's `Upstream http user:pass@host:port`).
 * The sandbox's commands hold the same credentials in HTTP_PROXY already,
 * so the relay shows the sandbox nothing new (docs/egress.md). The I/O —
 * starting, watching and stopping it — is relay_proc.c. */
#ifndef SQ_BROWSER_RELAY_H
#define SQ_BROWSER_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "lifecycle/proxy_url.h"

#define SQ_RELAY_PORT 39128
#define SQ_RELAY_SERVER "http://127.0.0.1:39128" /* what the browser's --proxy-server then names */
#define SQ_RELAY_CONF_MAX 2560

/* tinyproxy's configuration for the relay to the proxy url (parsed as p),
 * whose address the worker pinned (addr, host byte order: the relay needs
 * no DNS, which the sandbox does not have in proxy mode). The user name and
 * password are percent-decoded as curl decodes them for HTTP_PROXY.
 * 0, or -1 with why: not an http:// proxy (tinyproxy reaches https://
 * proxies not at all and the relay to SOCKS is not built), or credentials
 * tinyproxy cannot carry (a control character, a ':' in the user name, an
 * '@' in the password), or too long for out. */
int sq_relay_conf(const char *url, const sq_proxy_url *p, uint32_t addr, char *out, size_t size, const char **why);

#endif
