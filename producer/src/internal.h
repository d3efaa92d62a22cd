/* internal.h — what the files of libsandq share: the client structure and the
 * internal calls between produce.c (publishing), wait.c (reading one sandbox's
 * partition), task.c (following one task's events) and the public calls in
 * sandbox.c, exec.c, files.c and events.c. Not installed. */
#ifndef SQP_INTERNAL_H
#define SQP_INTERNAL_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sandq.h"
#include "sq/event.h"
#include "sq/ids.h"
#include "sq/protocol.h"

#define SQP_POOL_MAX 8       /* idle consumers kept for reuse */
#define SQP_KNOWN_MAX 512    /* sandboxes whose create this client sent */
#define SQP_POLL_SLICE_MS 100

/* A sandbox this client created: where its later requests go and where its
 * events start, so sandq_wait_ready can read them from the beginning. */
/* The user callback of a sandq_publish'ed message (publish.c); the delivery
 * report's opaque is either this (tag SQP_PUB_TAG) or a sqp_delivery. */
#define SQP_PUB_TAG 0x5051u
typedef struct sqp_known {
    char id[SQ_ID_MAX];
    char region[8];
    int32_t partition;
    int64_t start;   /* offset in the events topic before its create was sent */
} sqp_known;

struct sandq_client {
    rd_kafka_t *producer;  /* made on first use: sqp_producer() */
    char *brokers;
    char *prefix;
    char *tenant;
    char *client_id;
    char region[8];
    int64_t timeout_ms;
    char events_topic[SQ_TOPIC_MAX];
    char **kafka_conf;   /* NULL-terminated copy of opts.kafka_conf */
    char *redis_url;     /* sandq_get/sandq_list only */
    char *database_url;  /* sandq_history and the webhook calls only */
    char *webhook_secret_key; /* sandq_webhook_add/rotate only; "" → none */
    int linger_ms;

    pthread_mutex_t lock; /* guards everything below */
    int32_t events_partitions; /* 0 until fetched */
    int64_t events_partitions_at; /* sq_mono_ms() of the fetch; refreshed after 5 min */
    rd_kafka_t *idle[SQP_POOL_MAX];
    int n_idle;
    sqp_known known[SQP_KNOWN_MAX];
    size_t known_next;
    char last_kafka_error[256];
    int64_t last_kafka_error_at; /* sq_mono_ms() */
};

/* ---- errors.c ---- */
void sqp_err_clear(sandq_error *err);
sandq_code sqp_fail(sandq_error *err, sandq_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix err->message with context ("files.write chunk 3/7: …"); returns err->code. */
sandq_code sqp_wrap(sandq_error *err, sandq_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
sandq_code sqp_code_from_wire(const char *name);
/* Fill err from a request.rejected, sandbox.task.failed or sandbox.failed event. */
sandq_code sqp_fail_from_event(sandq_error *err, const sq_event *ev);
/* A client-side timeout, or a Kafka error if a recent one explains it. */
sandq_code sqp_fail_timeout(sandq_client_t *c, sandq_error *err, int64_t waited_ms, const char *what);

/* ---- opts.c (pure) ---- */
/* Copy the caller's option struct src (NULL → all defaults) of type `type`
 * ("sandq_exec_opts") into dst, a zeroed struct of this library's size dst_size,
 * by src's struct_size (sandq.h "Option structs"). SANDQ_E_BAD_ARGUMENT if
 * struct_size is unset or src sets a field this library does not know. */
sandq_code sqp_opts_copy(void *dst, size_t dst_size, const void *src, const char *type, sandq_error *err);

/* ---- client.c ---- */
int64_t sqp_deadline(const sandq_client_t *c, int64_t timeout_ms);
int64_t sqp_remaining(int64_t deadline);
/* The shared producer, created on first use; NULL + err if librdkafka refused. */
rd_kafka_t *sqp_producer(sandq_client_t *c, sandq_error *err);
/* A consumer (no group join, no commits) from the pool or new. */
rd_kafka_t *sqp_consumer_get(sandq_client_t *c, sandq_error *err);
/* Clear its assignment and return it to the pool (or destroy it). */
void sqp_consumer_put(sandq_client_t *c, rd_kafka_t *rk);
/* Partition count of the events topic (cached after the first fetch). */
sandq_code sqp_events_partitions(sandq_client_t *c, rd_kafka_t *rk, int64_t deadline, int32_t *out,
                                 sandq_error *err);
/* Low and high watermark of one events partition, asked again while leadership
 * settles (at most 10 s, or until the deadline). */
sandq_code sqp_events_offsets(sandq_client_t *c, rd_kafka_t *rk, int32_t partition, int64_t deadline, int64_t *lo,
                              int64_t *hi, sandq_error *err);
void sqp_note_kafka_error(sandq_client_t *c, const char *msg);

/* ---- publish.c ---- */
void sqp_publish_done(void *opaque, rd_kafka_resp_err_t kerr, size_t len);

/* ---- known.c ---- */
void sqp_known_put(sandq_client_t *c, const char *id, const char *region, int32_t partition, int64_t start);
bool sqp_known_get(sandq_client_t *c, const char *id, sqp_known *out);
/* The requests topic for a sandbox: the region of its create if known, else the client's. */
void sqp_request_topic(sandq_client_t *c, const char *sandbox_id, char out[SQ_TOPIC_MAX]);

/* ---- body.c (pure) ---- */
/* "K=V" list → {K: V}; NULL list → empty object. NULL + err on a malformed entry. */
json_t *sqp_kv_object(const char *const *list, const char *what, sandq_error *err);
json_t *sqp_body_create(const sandq_create_opts *o, const char *region, sandq_error *err);
json_t *sqp_body_exec(const char *const *argv, const sandq_exec_opts *o, sandq_error *err);
/* body.path, or body.pathB64 when path is not UTF-8 (docs/protocol.md "Files"). */
void sqp_body_set_path(json_t *body, const char *path);
json_t *sqp_body_files_write(const char *path, const void *data, size_t len, uint64_t offset, bool first,
                             uint32_t mode);
/* An envelope around body (stolen) and metadata (stolen, may be NULL). */
json_t *sqp_envelope(const char *type, const char *request_id, const char *sandbox_id, const char *task_id,
                     const char *tenant, const char *reply_to, json_t *metadata, json_t *body);

json_t *sqp_body_code(const char *code, const sandq_code_opts *o, sandq_error *err);

/* ---- produce.c ---- */
/* Serialize env, check it as the worker would (invalid_request before sending), produce
 * it keyed by sandbox_id to topic and wait for the delivery report. */
sandq_code sqp_produce(sandq_client_t *c, const char *topic, const char *sandbox_id, const json_t *env,
                       int64_t deadline, sandq_error *err);
/* Build the envelope (fresh requestId into request_id) and produce it to the sandbox's
 * requests topic. body and metadata are stolen. task_id may be NULL. */
sandq_code sqp_send(sandq_client_t *c, const char *sandbox_id, const char *type, const char *task_id,
                    json_t *body, json_t *metadata, int64_t deadline, char request_id[SQ_ID_MAX],
                    sandq_error *err);

/* ---- wait.c ---- */
/* A reader of one sandbox's partition of the events topic. */
typedef struct sqp_waiter {
    sandq_client_t *c;
    rd_kafka_t *rk;
    char sandbox_id[SQ_ID_MAX];
    int32_t partition;
    int64_t start;     /* first offset read */
    int64_t end_at_open; /* high watermark when opened */
    int64_t position;  /* next offset to read */
    bool eof;          /* reached the partition's end at least once since the last message */
} sqp_waiter;

/* Assign a consumer to the sandbox's partition. start ≥ 0: read from that offset;
 * SQP_START_END: from the high watermark queried now (a concrete offset, never
 * OFFSET_END); SQP_START_TIME(ms): from the first event at or after that time. */
#define SQP_START_END (-1)
#define SQP_START_AT_TIME(ms) (-2 - (ms))
sandq_code sqp_waiter_open(sandq_client_t *c, const char *sandbox_id, int64_t start, int64_t deadline,
                           sqp_waiter *w, sandq_error *err);
/* Next event about the sandbox (the message key or sandboxId matches). SANDQ_OK with
 * *got = false when a poll slice passed without one (check w->position / w->eof);
 * SANDQ_E_WAIT_TIMEOUT once the deadline passed. ev must be freed when *got. */
sandq_code sqp_waiter_next(sqp_waiter *w, int64_t deadline, sq_event *ev, bool *got, sandq_error *err);
/* True once everything published before the waiter opened has been read. */
bool sqp_waiter_caught_up(const sqp_waiter *w);
void sqp_waiter_close(sqp_waiter *w);

/* How a call that waits follows its sandbox's events (sqp_follow_events): the
 * launch, wait_ready and kill of sandbox.c, the pause/resume/setTimeout of
 * lifecycle.c and the one-shot tasks of run_task.c differ only in what an event
 * means to them and what to say when time runs out. */
typedef struct sqp_follow sqp_follow;
struct sqp_follow {
    int64_t deadline;        /* on_event may push it back (progress resets it) */
    int64_t started;         /* sq_mono_ms() the timeout message counts from; on_event may move it */
    const char *request_id;  /* set on err at the deadline, if not NULL/"" */
    const char *task_id;     /* likewise */
    bool quiet_ok;           /* the deadline passing is success (setTimeout has no acknowledging event) */
    /* ev: the next event about the sandbox, or NULL when a poll slice passed without
     * one. Return true once the call is decided, with *rc (and err) its result. */
    bool (*on_event)(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err);
    /* What was awaited, for the timeout message ("waiting for sandbox X to end"). */
    void (*describe)(sqp_follow *f, char *what, size_t len);
    void *user;              /* the call's own state */
};
/* Follow w's events until f decides, the deadline passes or reading fails. */
sandq_code sqp_follow_events(sandq_client_t *c, sqp_waiter *w, sqp_follow *f, sandq_error *err);
/* Send one request and follow what it causes: a waiter opened at the sandbox's
 * partition's end first (nothing the request causes is missed), the request
 * (body stolen, also on failure) with a fresh id written to request_id before
 * any event is read (f->request_id and f->user may point at it), then
 * sqp_follow_events until f decides. f->deadline bounds it all. */
sandq_code sqp_send_follow(sandq_client_t *c, const char *sandbox_id, const char *type, const char *task_id,
                           json_t *body, sqp_follow *f, char request_id[SQ_ID_MAX], sandq_error *err);

/* ---- task.c (pure) ---- */
/* Bytes of a task's output stream ("stdout", "stderr" or "data"), de-duplicated,
 * with their offset in that stream. Returning non-zero (after filling *err) ends the
 * task's wait with that code. */
typedef sandq_code (*sqp_chunk_fn)(void *user, const char *stream, uint64_t offset, const void *bytes, size_t len,
                                   sandq_error *err);

typedef struct sqp_taskstate {
    char task_id[SQ_ID_MAX];
    char request_id[SQ_ID_MAX];
    sqp_chunk_fn on_chunk;
    void *user;
    uint64_t next[3];   /* bytes taken so far: stdout, stderr, data */
    bool done;
    sandq_code code;    /* SANDQ_OK when completed */
    sandq_error err;    /* details when code != SANDQ_OK */
    int exit_code;      /* task.completed exitCode (-1 if absent) */
    int64_t duration_ms;
    json_t *result;     /* task.completed result (a reference), or NULL */
    /* issue 12: called with each sandbox.task.progress's data (agent steps); may be NULL */
    void (*on_progress)(void *user, const json_t *data);
    void *progress_user;
    bool progress_owned;  /* progress_user is malloc'd: freed with the state */
} sqp_taskstate;

void sqp_taskstate_init(sqp_taskstate *ts, const char *task_id, const char *request_id, sqp_chunk_fn on_chunk,
                        void *user);
/* Apply one event of the task's sandbox. Returns true if it was about this task (its
 * taskId, its requestId, or the sandbox ending under it). Once ts->done, later events
 * are ignored. */
bool sqp_taskstate_feed(sqp_taskstate *ts, const sq_event *ev);
void sqp_taskstate_free(sqp_taskstate *ts);

/* ---- PostgreSQL (pg.c): one short-lived connection per call ---- */
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;
sandq_code sqp_pg_connect(sandq_client_t *c, PGconn **db, sandq_error *err);
/* SANDQ_E_DATABASE with "what: <libpq's message>" (res's, else db's). */
sandq_code sqp_pg_fail(sandq_error *err, PGconn *db, PGresult *res, const char *what);

/* ---- task handles (exec.c), for the other task kinds' calls (prompt.c) ---- */
/* Publish a task request (body and metadata stolen) with a waiter open on the
 * sandbox's partition; *task follows it (sandq_task_wait / sandq_task_free). */
sandq_code sqp_task_start(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                          json_t *metadata, sandq_task_t **task, sandq_error *err);
/* The task's state: its result once completed, its progress callback. */
sqp_taskstate *sqp_task_state(sandq_task_t *task);

/* ---- one-shot task helper (task.c) ---- */
/* Send a task request of `type` with `body` (stolen) and follow it to its end through
 * a waiter opened before sending. timeout_ms (0 → client timeout) is a fixed deadline,
 * or, with progress_resets, restarts on each event about the task. On SANDQ_OK,
 * ts->result etc. are set; always call sqp_taskstate_free(ts). */
sandq_code sqp_run_task(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                        int64_t timeout_ms, bool progress_resets, sqp_chunk_fn on_chunk, void *user,
                        sqp_taskstate *ts, sandq_error *err);

#endif
