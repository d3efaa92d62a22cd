/* webhook_delivery.h — the worker's webhook delivery thread.
 *
 * One thread per worker with its own PostgreSQL connection and a libcurl
 * multi handle (host names are resolved by a small pool beside it,
 * webhook_resolve.h). It LISTENs on sandq_webhooks (the outbox trigger notifies on
 * every new delivery) and also polls every SANDQ_WEBHOOK_POLL_MS, claims due
 * deliveries with FOR UPDATE SKIP LOCKED and a lease, runs up to
 * SANDQ_WEBHOOK_MAX_INFLIGHT transfers at once (at most
 * SANDQ_WEBHOOK_MAX_PER_ENDPOINT per endpoint, so a slow receiver cannot hold
 * back the others), and records each attempt. docs/webhooks.md lists the
 * settings. */
#ifndef SQ_WEBHOOK_DELIVERY_H
#define SQ_WEBHOOK_DELIVERY_H

#include "worker.h"
#include "sq/webhook_secret.h"

typedef struct sq_webhooks sq_webhooks;

/* Read the SANDQ_WEBHOOK_* settings, connect and start the thread (unless
 * SANDQ_WEBHOOKS=0). Sets w->webhooks. */
int sq_webhooks_start(sq_worker *w, sq_err *err);
/* Stop the thread: transfers in flight are abandoned and their rows handed
 * back at once (at-least-once: a receiver may see one of them again). */
void sq_webhooks_stop(sq_worker *w);

/* The secret-sealing box of a started subsystem, or NULL. */
const sq_wh_box *sq_webhooks_box(const sq_worker *w);

#endif
