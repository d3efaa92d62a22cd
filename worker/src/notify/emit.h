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
} sq_emit_target;

sq_emit_target sq_target_of(const sq_live_sandbox *sb);

/* Emit one event. `data` is stolen. req (may be NULL) gives requestId,
 * taskId and metadata. */
int sq_emit(sq_worker *w, const sq_emit_target *t, const sq_request *req, const char *task_id, const char *type,
            json_t *data, sq_err *err);

/* A lifecycle transition: updates Redis and PostgreSQL state, then emits the
 * state's event with data {state, previous, reason?, message?} merged with
 * `extra` (stolen, may be NULL). */
int sq_transition(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_state to, const char *reason,
                  const char *message, json_t *extra, sq_err *err);

/* The same, emitted as `type` instead of the state's usual event (entering
 * ready from a pause is sandbox.resumed, not sandbox.ready). */
int sq_transition_as(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_state to, const char *type,
                     const char *reason, const char *message, json_t *extra, sq_err *err);

/* request.rejected {code, message, field?}. */
int sq_emit_rejected(sq_worker *w, const sq_emit_target *t, const sq_request *req, const sq_err *why, sq_err *err);

/* Publish one serialised event to <prefix>.events and, when reply_to is
 * non-empty, to that topic too, keyed by key (a sandbox id, or a request's
 * key). Also used to publish stored events again (replay.c, answer_again.c). */
int sq_publish_event(sq_worker *w, const void *key, size_t key_len, const char *payload, const char *reply_to,
                     sq_err *err);

/* Produce one message (copied). The calling thread's current job, if any,
 * counts it until Kafka acknowledges it. headers (may be NULL) are taken. */
int sq_produce(sq_worker *w, const char *topic, const void *key, size_t key_len, const void *payload, size_t len,
               rd_kafka_headers_t *headers, sq_err *err);

#endif
