/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

static const char *const task_kinds[] = {"exec", "code", "agent", "browser", "document", "files", "checkpoint"};
#define NKINDS (sizeof task_kinds / sizeof task_kinds[0])

static struct {
    atomic_ullong requests[SQ_REQ__COUNT];
    atomic_ullong hist[SQ_REQ__COUNT][NBUCKETS + 1];   /* per-bucket counts, not cumulative; last = +Inf */
    atomic_ullong sum_us[SQ_REQ__COUNT];
    atomic_ullong rejected[SQ_CODE__COUNT];
    atomic_ullong tasks[NKINDS][SQ_OUTCOME__COUNT];
    atomic_ullong dlq;
    atomic_ullong duplicates;
    atomic_ullong reply_failed;
    atomic_ullong quarantined;
    atomic_ullong too_large;
    atomic_ullong event_refused;
    atomic_ullong dlq_refused;
    atomic_ullong forwarded;
    atomic_ullong forward_received;
    atomic_ullong forward_failed;
} m;

void sq_metrics_reset(void) { memset(&m, 0, sizeof m); }

void sq_metrics_request(sq_req_type type, double seconds)
{
    if ((int)type < 0 || type >= SQ_REQ__COUNT)
        type = SQ_REQ_UNKNOWN;
    atomic_fetch_add(&m.requests[type], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add(&m.hist[type][b], 1);
    atomic_fetch_add(&m.sum_us[type], (unsigned long long)(seconds * 1e6));
}

void sq_metrics_rejected(sq_code code)
{
    if ((int)code > 0 && code < SQ_CODE__COUNT)
        atomic_fetch_add(&m.rejected[code], 1);
}

void sq_metrics_dlq(void) { atomic_fetch_add(&m.dlq, 1); }
void sq_metrics_duplicate(void) { atomic_fetch_add(&m.duplicates, 1); }
void sq_metrics_reply_failed(void) { atomic_fetch_add(&m.reply_failed, 1); }
void sq_metrics_history_quarantined(void) { atomic_fetch_add(&m.quarantined, 1); }
void sq_metrics_event_too_large(void) { atomic_fetch_add(&m.too_large, 1); }
void sq_metrics_event_delivery_failed(void) { atomic_fetch_add(&m.event_refused, 1); }
void sq_metrics_dlq_delivery_failed(void) { atomic_fetch_add(&m.dlq_refused, 1); }
void sq_metrics_forwarded(void) { atomic_fetch_add(&m.forwarded, 1); }
void sq_metrics_forward_received(void) { atomic_fetch_add(&m.forward_received, 1); }
void sq_metrics_forward_failed(void) { atomic_fetch_add(&m.forward_failed, 1); }

void sq_metrics_task(const char *kind, sq_task_outcome_kind outcome)
{
    for (size_t k = 0; k < NKINDS; k++)
        if (kind && strcmp(kind, task_kinds[k]) == 0 && outcome < SQ_OUTCOME__COUNT)
            atomic_fetch_add(&m.tasks[k][outcome], 1);
}

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap ? b->cap * 2 : 16384) + (size_t)n;
        char *np = realloc(b->p, ncap);
        if (!np)
            return;
        b->p = np;
        b->cap = ncap;
    }
}

/* The counters that are one number each, in the order /metrics lists them. */
static const struct {
    const char *name, *help;
    atomic_ullong *value;
} counters[] = {
    {"sandq_dlq_total", "Messages that were not request envelopes, sent to the DLQ.", &m.dlq},
    {"sandq_duplicate_requests_total", "Requests acknowledged without effect (same requestId).", &m.duplicates},
    {"sandq_forwarded_requests_total",
     "Requests for a sandbox another live worker hosts, forwarded to its forward topic (pipeline/forward.h).",
     &m.forwarded},
    {"sandq_forward_received_total", "Forwarded requests consumed from this worker's forward topic.",
     &m.forward_received},
    {"sandq_forward_failures_total", "Forwards a forward topic refused for good (the request stays uncommitted).",
     &m.forward_failed},
    {"sandq_reply_delivery_failures_total",
     "Events not delivered to a sandbox's replyTo topic (they are on the events topic).", &m.reply_failed},
    {"sandq_history_quarantined_total", "History rows PostgreSQL refused, kept in history_quarantine.",
     &m.quarantined},
    {"sandq_events_too_large_total",
     "Events over SANDQ_MAX_EVENT_BYTES, answered with a payload_too_large failure instead.", &m.too_large},
    {"sandq_event_delivery_failures_total",
     "Events the events topic refused for good (unknown topic, denied, too large), set aside in the DLQ.",
     &m.event_refused},
    {"sandq_dlq_delivery_failures_total", "Messages the DLQ itself refused for good (dropped, logged).",
     &m.dlq_refused},
};

/* A family's "# HELP" and "# TYPE" lines. */
static void family(buf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *sq_metrics_render(const sq_metrics_gauges *g)
{
    buf b = {0};
    family(&b, "sandq_sandboxes", "gauge", "Live sandboxes on this worker, by lifecycle state.");
    for (int s = 1; s < SQ_STATE__COUNT; s++)
        put(&b, "sandq_sandboxes{state=\"%s\"} %zu\n", sq_state_name((sq_state)s), g->sandboxes_by_state[s]);

    family(&b, "sandq_requests_total", "counter", "Requests that reached an outcome, by type.");
    for (int t = 1; t < SQ_REQ__COUNT; t++)
        put(&b, "sandq_requests_total{type=\"%s\"} %llu\n", sq_req_type_name((sq_req_type)t),
            atomic_load(&m.requests[t]));

    family(&b, "sandq_request_duration_seconds", "histogram",
           "From consuming a request to its durable outcome.");
    for (int t = 1; t < SQ_REQ__COUNT; t++) {
        const char *name = sq_req_type_name((sq_req_type)t);
        unsigned long long cum = 0;
        for (size_t i = 0; i < NBUCKETS; i++) {
            cum += atomic_load(&m.hist[t][i]);
            put(&b, "sandq_request_duration_seconds_bucket{type=\"%s\",le=\"%g\"} %llu\n", name, buckets[i], cum);
        }
        cum += atomic_load(&m.hist[t][NBUCKETS]);
        put(&b, "sandq_request_duration_seconds_bucket{type=\"%s\",le=\"+Inf\"} %llu\n", name, cum);
        put(&b, "sandq_request_duration_seconds_sum{type=\"%s\"} %.6f\n", name, atomic_load(&m.sum_us[t]) / 1e6);
        put(&b, "sandq_request_duration_seconds_count{type=\"%s\"} %llu\n", name, cum);
    }

    family(&b, "sandq_requests_rejected_total", "counter", "request.rejected events, by error code.");
    for (int c = 1; c < SQ_CODE__COUNT; c++)
        put(&b, "sandq_requests_rejected_total{code=\"%s\"} %llu\n", sq_code_name((sq_code)c),
            atomic_load(&m.rejected[c]));

    family(&b, "sandq_tasks_total", "counter", "Tasks finished, by kind and outcome.");
    for (size_t k = 0; k < NKINDS; k++) {
        put(&b, "sandq_tasks_total{kind=\"%s\",outcome=\"completed\"} %llu\n", task_kinds[k],
            atomic_load(&m.tasks[k][SQ_OUTCOME_COMPLETED]));
        put(&b, "sandq_tasks_total{kind=\"%s\",outcome=\"failed\"} %llu\n", task_kinds[k],
            atomic_load(&m.tasks[k][SQ_OUTCOME_FAILED]));
    }

    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        family(&b, counters[i].name, "counter", counters[i].help);
        put(&b, "%s %llu\n", counters[i].name, atomic_load(counters[i].value));
    }

    /* The gauges that are one number each; a negative webhook backlog means the
     * worker does not deliver webhooks and the family is left out. */
    const struct {
        const char *name, *help;
        long long value;
        bool shown;
    } gauges[] = {
        {"sandq_inflight_requests", "Consumed requests without a durable outcome yet.",
         (long long)g->inflight_requests, true},
        {"sandq_history_queue_depth", "PostgreSQL statements queued and not yet committed.",
         (long long)g->history_queue_depth, true},
        {"sandq_webhook_backlog", "Webhook deliveries waiting in the outbox (shared by all workers).",
         g->webhook_backlog, g->webhook_backlog >= 0},
        {"sandq_partitions_paused", "1 while fetching is paused for back-pressure.", g->partitions_paused, true},
    };
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        if (!gauges[i].shown)
            continue;
        family(&b, gauges[i].name, "gauge", gauges[i].help);
        put(&b, "%s %lld\n", gauges[i].name, gauges[i].value);
    }

    family(&b, "sandq_assigned_partitions", "gauge",
           "Partitions of each requests topic assigned to this worker in that topic's consumer group.");
    for (size_t i = 0; i < g->assigned_count; i++)
        put(&b, "sandq_assigned_partitions{topic=\"%s\",group=\"%s\"} %d\n", g->assigned[i].topic,
            g->assigned[i].group, g->assigned[i].partitions);
    family(&b, "sandq_consumer_lag", "gauge", "Messages behind the partition's end, per assigned partition.");
    for (size_t i = 0; i < g->lag_count; i++)
        put(&b, "sandq_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n", g->lag[i].topic, (int)g->lag[i].partition,
            (long long)g->lag[i].lag);
    return b.p;
}
