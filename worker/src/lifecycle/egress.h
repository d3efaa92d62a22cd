/* egress.h — a create's own egress settings, resolved and pinned by the
 * worker: capabilities.proxy (or capabilities.browser.byoProxyUrl) and
 * network.allowOut / network.denyOut (docs/egress.md).
 *
 * Names are resolved once, here, at create, from the worker (getaddrinfo,
 * IPv4): the sandbox's egress chain then names addresses only, so what the
 * sandbox's own DNS says cannot widen it. */
#ifndef SQ_EGRESS_H
#define SQ_EGRESS_H

#include <jansson.h>
#include <stdint.h>

#include "lifecycle/proxy_url.h"
#include "sandbox/sandbox.h"
#include "worker.h"

typedef struct sq_egress {
    char *out_allow; /* "a.b.c.d/n, …" or NULL */
    char *out_deny;
    bool has_proxy;
    const char *proxy_text; /* points into the create body */
    sq_proxy_url proxy;
    uint32_t proxy_addr;    /* host byte order */
    char proxy_redacted[SQ_PROXY_URL_MAX + 8];
} sq_egress;

/* Check and resolve. -1 with a request.rejected reason (invalid_request or
 * forbidden naming the field: body.capabilities.proxy.url,
 * body.network.allowOut[i], …). */
int sq_egress_resolve(const sq_worker_config *cfg, const json_t *body, sq_egress *e, sq_err *err);

/* Into the sandbox's options (pointers stay owned by e). */
void sq_egress_apply(const sq_egress *e, sq_sandbox_opts *opts);

/* The create's capabilities as PostgreSQL keeps them: with a proxy, its url
 * redacted and, with SANDQ_WEBHOOK_SECRET_KEY, "credentialsSealed" = its
 * user:password sealed under that key (sq_wh_box_seal, the sandbox id as
 * associated data). NULL: no proxy (store caps as they are) or err set.
 * New reference. */
json_t *sq_egress_caps_for_store(const json_t *caps, const sq_egress *e, const char *sandbox_id, sq_err *err);

void sq_egress_free(sq_egress *e);

#endif
