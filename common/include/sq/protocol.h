/* protocol.h — the sandq wire protocol, version 1 (../docs/protocol.md, schema/).
 *
 * Names of request types, event types, lifecycle states and topics, and the
 * parser that turns request bytes into a validated sq_request. Pure: no I/O. */
#ifndef SQ_PROTOCOL_H
#define SQ_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"
#include "sq/ids.h"

#define SQ_PROTOCOL_VERSION 1
#define SQ_FILE_CHUNK_MAX (512 * 1024)  /* raw bytes per files.write / files.read chunk */
#define SQ_TENANT_MAX 64
#define SQ_TOPIC_MAX 250                /* Kafka's own topic-name limit is 249 */

typedef enum sq_req_type {
    SQ_REQ_UNKNOWN = 0,
    SQ_REQ_SANDBOX_CREATE,
    SQ_REQ_SANDBOX_PAUSE,
    SQ_REQ_SANDBOX_RESUME,
    SQ_REQ_SANDBOX_KILL,
    SQ_REQ_SANDBOX_SET_TIMEOUT,
    SQ_REQ_TASK_EXEC,
    SQ_REQ_TASK_CODE,
    SQ_REQ_TASK_AGENT,
    SQ_REQ_TASK_BROWSER,
    SQ_REQ_TASK_DOCUMENT,
    SQ_REQ_TASK_CANCEL,
    SQ_REQ_FILES_WRITE,
    SQ_REQ_FILES_READ,
    SQ_REQ_FILES_LIST,
    SQ_REQ_FILES_REMOVE,
    SQ_REQ_CHECKPOINT_CREATE,
    SQ_REQ_CHECKPOINT_RESTORE,
    SQ_REQ_CHECKPOINTS_LIST,
    SQ_REQ_HANDOFF_REQUEST,
    SQ_REQ_HANDOFF_ACCEPT,
    SQ_REQ_HANDOFF_COMPLETE,
    SQ_REQ_HANDOFF_CANCEL,
    SQ_REQ_PREVIEW_URL, /* an addition (issue 14): a signed viewer URL */
    SQ_REQ__COUNT
} sq_req_type;

/* The nine lifecycle states, in PROTOCOL.md order. */
typedef enum sq_state {
    SQ_STATE_NONE = 0,   /* not a wire state: "no such sandbox yet" */
    SQ_STATE_QUEUED,
    SQ_STATE_ASSIGNING,
    SQ_STATE_READY,
    SQ_STATE_ACTIVE,
    SQ_STATE_PAUSING,
    SQ_STATE_PAUSED,
    SQ_STATE_ENDING,
    SQ_STATE_ENDED,
    SQ_STATE_FAILED,
    SQ_STATE__COUNT
} sq_state;

const char *sq_req_type_name(sq_req_type t);           /* "task.exec"; NULL for UNKNOWN */
sq_req_type sq_req_type_from_name(const char *name);  /* SQ_REQ_UNKNOWN if not a type */
/* Whether the type needs a taskId (task.*, files.*, checkpoint.*). */
bool sq_req_type_needs_task(sq_req_type t);
/* The task kind reported in events ("exec", "files", …), NULL for non-task types. */
const char *sq_req_task_kind(sq_req_type t);

const char *sq_state_name(sq_state s);                 /* "ready"; NULL for NONE */
sq_state sq_state_from_name(const char *name);        /* SQ_STATE_NONE if unknown */
/* The lifecycle event type for entering a state ("sandbox.ready"). */
const char *sq_state_event_type(sq_state s);
bool sq_state_is_terminal(sq_state s);

/* Whether name is an event type of protocol v1 ("sandbox.task.completed"). */
bool sq_event_type_known(const char *name);
/* A webhook's eventTypes entry: an event type, or a prefix ending in ".*"
 * ("sandbox.task.*", "sandbox.*"). */
bool sq_event_type_filter_valid(const char *filter);

/* A parsed, validated request. Strings are copied; `root` owns the JSON and
 * `body`/`metadata` are borrowed from it (NULL when absent). */
typedef struct sq_request {
    int v;
    sq_req_type type;
    char type_name[64];          /* as sent, even if unknown (for logs) */
    char request_id[SQ_ID_MAX];
    char sandbox_id[SQ_ID_MAX];
    char task_id[SQ_ID_MAX];
    char tenant[SQ_TENANT_MAX + 1];
    char reply_to[SQ_TOPIC_MAX];
    int64_t sent_at;
    json_t *metadata;
    json_t *body;
    json_t *root;
} sq_request;

/* Parse result classes: what the worker does with a request that failed. */
typedef enum sq_parse_outcome {
    SQ_PARSE_OK = 0,
    SQ_PARSE_NOT_ENVELOPE,   /* not JSON / not an object: goes to the DLQ */
    SQ_PARSE_REJECTED,       /* an envelope with a bad field: request.rejected */
} sq_parse_outcome;

/* Parse and validate bytes into *req (zeroed first). max_bytes bounds the
 * message size (payload_too_large). On SQ_PARSE_REJECTED, the ids that could
 * be read (requestId, sandboxId, taskId, tenant, replyTo, metadata) are kept in
 * *req so the rejection can reference them; err has the code and field.
 * Always call sq_request_free afterwards. */
sq_parse_outcome sq_request_parse(const char *buf, size_t len, size_t max_bytes, sq_request *req, sq_err *err);
void sq_request_free(sq_request *req);

/* Validate a body for its type (called by sq_request_parse; exposed for tests).
 * Field names in err are "body.<path>". */
int sq_body_validate(sq_req_type type, const json_t *body, sq_err *err);

/* Topic names from a prefix: "<prefix>.requests", "<prefix>.requests.<region>",
 * "<prefix>.events", "<prefix>.dlq". region may be NULL or "" for the global one. */
void sq_topic_requests(const char *prefix, const char *region, char out[SQ_TOPIC_MAX]);
void sq_topic_events(const char *prefix, char out[SQ_TOPIC_MAX]);
void sq_topic_dlq(const char *prefix, char out[SQ_TOPIC_MAX]);
/* A region is three lowercase ASCII letters. */
bool sq_region_valid(const char *region);

#endif
