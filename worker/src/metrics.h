/* metrics.h — the worker's counters and histograms, rendered as Prometheus
 * text. Updates are lock-free (atomics); labels are closed sets known at
 * compile time (request types, task kinds, error codes), so the number of
 * series is bounded no matter what traffic arrives. */
#ifndef SQ_METRICS_H
#define SQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"
#include "sq/protocol.h"

typedef enum { SQ_OUTCOME_COMPLETED, SQ_OUTCOME_FAILED, SQ_OUTCOME__COUNT } sq_task_outcome_kind;

void sq_metrics_request(sq_req_type type, double seconds); /* a request reached its outcome */
void sq_metrics_rejected(sq_code code);
void sq_metrics_dlq(void);
void sq_metrics_duplicate(void);
/* Forwarding to the worker that hosts a sandbox (pipeline/forward.h). */
void sq_metrics_forwarded(void);
void sq_metrics_forward_received(void);
void sq_metrics_forward_failed(void);
void sq_metrics_reply_failed(void);       /* a replyTo copy of an event was not delivered */
void sq_metrics_history_quarantined(void); /* a history row PostgreSQL refused, set aside */
void sq_metrics_event_too_large(void);     /* an event over SANDQ_MAX_EVENT_BYTES, replaced by a failure */
void sq_metrics_event_delivery_failed(void); /* an event the events topic refused for good, set aside in the DLQ */
void sq_metrics_dlq_delivery_failed(void);   /* a message the DLQ refused for good: dropped, logged */
void sq_metrics_task(const char *kind, sq_task_outcome_kind outcome);

/* Values the renderer asks for at scrape time (gauges owned elsewhere). */
typedef struct sq_metrics_gauges {
    size_t sandboxes_by_state[SQ_STATE__COUNT];
    size_t inflight_requests;
    int partitions_paused;
    size_t assigned_count;       /* one per requests topic (its own consumer group) */
    struct {
        char topic[250];
        char group[400];
        int partitions;
    } assigned[4];
    size_t history_queue_depth;
    long long webhook_backlog;   /* pending deliveries in the outbox (all workers), -1 if unknown */
    size_t lag_count;
    struct {
        char topic[250];
        int32_t partition;
        int64_t lag;
    } lag[128];
} sq_metrics_gauges;

/* Render everything into a malloc'd NUL-terminated buffer (caller frees). */
char *sq_metrics_render(const sq_metrics_gauges *g);
/* Zero every counter (tests). */
void sq_metrics_reset(void);

#endif
