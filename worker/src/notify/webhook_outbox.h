/* webhook_outbox.h — the webhook outbox in PostgreSQL (sql/007, sql/008).
 *
 * Rows are written by the database itself: a trigger on `events` inserts one
 * delivery per matching endpoint in the same statement as the event's history
 * row (so batching the events insert batches the outbox too). This file holds
 * the worker's side: registering a sandbox's own endpoint at create, claiming
 * due rows (FOR UPDATE SKIP LOCKED plus a lease), and recording attempts. */
#ifndef SQ_WEBHOOK_OUTBOX_H
#define SQ_WEBHOOK_OUTBOX_H

#include <libpq-fe.h>
#include <stdint.h>

#include "worker.h"
#include "sq/webhook_secret.h"

/* Register the `webhook` of a sandbox.create body (if any) as the sandbox's
 * endpoint, its secret sealed with box. Idempotent (a replayed create keeps
 * the first row). Call before the sandbox's first event. Uses w->pg. */
int sq_webhook_subscribe_sandbox(sq_worker *w, const sq_request *create, sq_err *err);

typedef struct sq_wh_claimed {
    int64_t id;
    int attempts;               /* made before this one */
    char event_id[64];
    char endpoint_id[40];
    char *url;
    char *secret_sealed;
    char *secret_prev_sealed;   /* NULL unless rotating */
    char *payload;
} sq_wh_claimed;

void sq_wh_claimed_free(sq_wh_claimed *c);

/* Claim up to `limit` due deliveries, oldest first, at most `per_endpoint`
 * of any one endpoint, of enabled endpoints not in `skip` (those at their
 * concurrency limit; `nskip` ids), leasing them to `owner` for lease_s
 * seconds. *out is malloc'd; *n rows. */
int sq_wh_outbox_claim(PGconn *pg, const char *owner, int limit, int per_endpoint, const char *const *skip, int nskip,
                       int lease_s, sq_wh_claimed **out, int *n, sq_err *err);

/* Give leased rows back at once (worker stopping, or over a concurrency cap). */
int sq_wh_outbox_release(PGconn *pg, const char *owner, const int64_t *ids, int n, sq_err *err);

typedef enum sq_wh_outcome {
    SQ_WH_DELIVERED,     /* 2xx */
    SQ_WH_RETRY,         /* next attempt after next_delay_ms */
    SQ_WH_FAILED,        /* no attempts left, or refused (SSRF) */
    SQ_WH_GONE,          /* 410: the delivery fails and the endpoint is disabled */
} sq_wh_outcome;

/* Record one attempt (status 0 = no HTTP answer; error may be NULL) and the
 * delivery's new state. Only rows still leased to `owner` are changed. */
int sq_wh_outbox_record(PGconn *pg, const char *owner, const sq_wh_claimed *c, sq_wh_outcome outcome, int status,
                        int64_t latency_ms, const char *error, int64_t next_delay_ms, sq_err *err);

#endif
