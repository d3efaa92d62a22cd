/* emit.h — emitting an event: take the sandbox's next seq (Redis), queue the
 * envelope for the events log (PostgreSQL, via the history writer), publish it
 * to <prefix>.events and the sandbox's replyTo topic (Kafka). */
#ifndef SQ_EMIT_H
#define SQ_EMIT_H

#include <jansson.h>

#include "worker.h"

/* Where an event belongs. sandbox_id NULL (or has_stream false) means the
 * event is not part of any sandbox's stream: seq 0. */
typedef struct sq_emit_target {
    const char *sandbox_id;
    bool has_stream;           /* the sandbox exists: take its next seq */
    const char *tenant;
    const char *region;
    const char *reply_to;      /* extra topic, may be NULL/"" */
    const sq_live_sandbox *sb; /* the live sandbox (sq_target_of), NULL otherwise: its audit trail */
} sq_emit_target;

sq_emit_target sq_target_of(const sq_live_sandbox *sb);

/* Emit one event. `data` is stolen. req (may be NULL) gives requestId,
 * taskId and metadata. */
int sq_emit(sq_worker *w, const sq_emit_target *t, const sq_request *req, const char *task_id, const char *type,
            json_t *data, sq_err *err);

/* Record and publish one event whose seq is already taken (0: no stream);
 * `data` is stolen. For a state change, whose seq comes with the state write
 * (lifecycle/transition.c). */
int sq_emit_numbered(sq_worker *w, const sq_emit_target *t, const sq_request *req, const char *task_id,
                     const char *type, json_t *data, int64_t seq, sq_err *err);

/* The bytes of the envelope an event of this type would have with empty data
 * (`{}`), seq and at at their widest: what SANDQ_MAX_EVENT_BYTES leaves for
 * data is max_event_bytes minus this (artifacts/parts.h splits by it). */
size_t sq_emit_envelope_bytes(const sq_worker *w, const sq_emit_target *t, const sq_request *req,
                              const char *task_id, const char *type);

/* Whether a task's result fits in an event (SANDQ_MAX_EVENT_BYTES); if not,
 * why gets payload_too_large and a message. The task's lifecycle
 * (lifecycle/task.c) fails such a task before recording anything of the
 * result; sq_emit_numbered does the same for a completion that is still over
 * the limit with its envelope (metadata), so an event too large to publish is
 * never retried. */
bool sq_result_fits(const sq_worker *w, const json_t *result, sq_err *why);

/* request.rejected {code, message, field?}. */
int sq_emit_rejected(sq_worker *w, const sq_emit_target *t, const sq_request *req, const sq_err *why, sq_err *err);

/* Publish one serialised event to <prefix>.events and, when reply_to is
 * non-empty, to that topic too, keyed by key (a sandbox id, or a request's
 * key). Also used to publish stored events again (pipeline/answer.c). */
int sq_publish_event(sq_worker *w, const void *key, size_t key_len, const char *payload, const char *reply_to,
                     sq_err *err);

/* Produce one message (copied). The calling thread's current job, if any,
 * counts it until Kafka acknowledges it. headers (may be NULL) are taken. */
int sq_produce(sq_worker *w, const char *topic, const void *key, size_t key_len, const void *payload, size_t len,
               rd_kafka_headers_t *headers, sq_err *err);

#endif
