/* event.h — the event envelope: building one (worker) and reading one (libsandq).
 * Pure: no I/O. */
#ifndef SQ_EVENT_H
#define SQ_EVENT_H

#include <jansson.h>
#include <stdint.h>

#include "sq/err.h"
#include "sq/ids.h"

/* Who and what an event is about. Any string may be NULL (written as null). */
typedef struct sq_event_ctx {
    const char *sandbox_id;
    const char *task_id;
    const char *request_id;
    const char *worker_id;
    const char *region;
    const char *tenant;
    const json_t *metadata;   /* the causing request's metadata; copied, may be NULL */
} sq_event_ctx;

/* Build an envelope. `data` is stolen (pass json_object() for empty). */
json_t *sq_event_new(const char *event_id, const char *type, const sq_event_ctx *ctx,
                     int64_t seq, int64_t at_ms, json_t *data);

/* A parsed event. Strings are copied; data is borrowed from root. */
typedef struct sq_event {
    char event_id[SQ_ID_MAX];
    char type[64];
    char sandbox_id[SQ_ID_MAX];
    char task_id[SQ_ID_MAX];
    char request_id[SQ_ID_MAX];
    int64_t seq;
    int64_t at;
    json_t *data;
    json_t *root;
} sq_event;

int sq_event_parse(const char *buf, size_t len, sq_event *ev, sq_err *err);
void sq_event_free(sq_event *ev);

#endif
