/* emit.c — see emit.h. The audit-log row is queued to the history writer and
 * the event published at once, so results keep flowing while PostgreSQL is
 * slow or down; the request's offset is committed only after both are durable
 * (job.h), so a crash in between replays the request rather than losing a row. */
#include "notify/emit.h"

#include <string.h>

#include "pipeline/job.h"
#include "metrics.h"
#include "pipeline/answer_rules.h"
#include "caps/recording/audit.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "sq/clock.h"
#include "sq/event.h"
#include "sq/log.h"

sq_emit_target sq_target_of(const sq_live_sandbox *sb)
{
    return (sq_emit_target){
        .sandbox_id = sb->id, .has_stream = true, .tenant = sb->tenant, .region = sb->region,
        .reply_to = sb->reply_to, .sb = sb};
}

/* Produce one message; the calling thread's current job (if any) counts it
 * as a delivery of `kind` until Kafka reports on it (kafka_conf.c's delivery
 * callback), holding a reference to the job meanwhile (job.h). */
static int produce(sq_worker *w, const char *topic, const void *key, size_t key_len, const void *payload, size_t len,
                   rd_kafka_headers_t *headers, sq_delivery_kind kind, sq_err *err)
{
    const sq_job_tally *tally = sq_job_tally_begin(sq_job_current(), kind);
    rd_kafka_resp_err_t rc;
    for (int tries = 0;; tries++) {
        rc = headers ? rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                                         RD_KAFKA_V_VALUE((void *)payload, len),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
                                         RD_KAFKA_V_OPAQUE((void *)tally), RD_KAFKA_V_END)
                     : rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                                         RD_KAFKA_V_VALUE((void *)payload, len),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)tally),
                                         RD_KAFKA_V_END);
        if (rc != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries >= 600)
            break;
        /* Back-pressure: the producer thread (main.c) drains deliveries. */
        sq_sleep_ms(50);
    }
    if (rc) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        sq_job_tally_done(tally, false);
        return sq_err_set(err, SQ_INTERNAL, "kafka produce to %s: %s", topic, rd_kafka_err2str(rc));
    }
    return 0;
}

int sq_produce(sq_worker *w, const char *topic, const void *key, size_t key_len, const void *payload, size_t len,
               rd_kafka_headers_t *headers, sq_err *err)
{
    return produce(w, topic, key, key_len, payload, len, headers, SQ_DELIVERY_REQUIRED, err);
}

int sq_publish_event(sq_worker *w, const void *key, size_t key_len, const char *payload, const char *reply_to,
                     sq_err *err)
{
    size_t len = strlen(payload);
    int rc = sq_produce(w, w->topic_events, key, key_len, payload, len, NULL, err);
    if (rc == 0 && reply_to && *reply_to) {
        /* The replyTo copy is best effort (job.h): a topic the requester named
         * that cannot take it costs that copy, never the request. */
        sq_err rerr;
        if (produce(w, reply_to, key, key_len, payload, len, NULL, SQ_DELIVERY_BEST_EFFORT, &rerr) < 0) {
            sq_metrics_reply_failed();
            sq_warn(NULL, "reply delivery failed (%s); the event is on the events topic only", rerr.msg);
        }
    }
    return rc;
}

/* The answer to the request this thread's job claimed: recorded on its dedupe
 * key before it is published (pipeline/answer.h), so a worker that takes the
 * request over after this one dies between the publish and the offset
 * commit publishes this very event again instead of a second outcome. */
static bool answers_claimed_request(const sq_request *req, const char *type)
{
    const sq_job *job = sq_job_current();
    return req && req->request_id[0] && job && job->parsed && strcmp(job->req.request_id, req->request_id) == 0 &&
           sq_event_answers(req->type, type);
}

bool sq_result_fits(const sq_worker *w, const json_t *result, sq_err *why)
{
    size_t len = result ? json_dumpb(result, NULL, 0, JSON_COMPACT) : 0;
    if (len <= w->cfg.max_event_bytes)
        return true;
    sq_err_set(why, SQ_PAYLOAD_TOO_LARGE,
               "the task's result is %zu bytes, more than an event may carry (%zu, SANDQ_MAX_EVENT_BYTES); "
               "ask for less (a narrower path, a page)",
               len, w->cfg.max_event_bytes);
    return false;
}

/* The failure that stands for a task's completion too large to publish: the
 * same kind, exit code and duration, without the result. */
static json_t *too_large_failure(const json_t *completed, size_t len, size_t max)
{
    json_t *d = json_object();
    const char *keep[] = {"kind", "exitCode", "durationMs"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (json_object_get(completed, keep[i]))
            json_object_set(d, keep[i], json_object_get(completed, keep[i]));
    char msg[256];
    snprintf(msg, sizeof msg,
             "the task's completion is %zu bytes as an event, more than an event may carry (%zu, "
             "SANDQ_MAX_EVENT_BYTES); ask for less (a narrower path, a page)",
             len, max);
    json_object_set_new(d, "code", json_string(sq_code_name(SQ_PAYLOAD_TOO_LARGE)));
    json_object_set_new(d, "message", json_string(msg));
    json_object_set_new(d, "reason", json_string("result_too_large"));
    return d;
}

/* Who and what an event is about: its envelope's fields besides type, seq and data. */
static sq_event_ctx event_ctx(const sq_worker *w, const sq_emit_target *t, const sq_request *req,
                              const char *task_id)
{
    return (sq_event_ctx){
        .sandbox_id = t->sandbox_id,
        .task_id = task_id,
        .request_id = req && req->request_id[0] ? req->request_id : NULL,
        .worker_id = w->cfg.worker_id,
        .region = t->region && *t->region ? t->region : w->cfg.region,
        .tenant = t->tenant ? t->tenant : (req ? req->tenant : NULL),
        .metadata = req ? req->metadata : NULL,
    };
}

size_t sq_emit_envelope_bytes(const sq_worker *w, const sq_emit_target *t, const sq_request *req,
                              const char *task_id, const char *type)
{
    char event_id[SQ_ID_MAX];
    sq_id_new("evt", event_id);
    sq_event_ctx ctx = event_ctx(w, t, req, task_id);
    /* seq and at at their widest */
    json_t *ev = sq_event_new(event_id, type, &ctx, INT64_MAX, INT64_MAX, json_object());
    size_t len = ev ? json_dumpb(ev, NULL, 0, JSON_COMPACT) : 0;
    json_decref(ev);
    return len;
}

int sq_emit_numbered(sq_worker *w, const sq_emit_target *t, const sq_request *req, const char *task_id,
                         const char *type, json_t *data, int64_t seq, sq_err *err)
{
    char event_id[SQ_ID_MAX];
    sq_id_new("evt", event_id);
    sq_event_ctx ctx = event_ctx(w, t, req, task_id);
    json_t *ev = sq_event_new(event_id, type, &ctx, seq, sq_now_ms(), data);
    char *payload = json_dumps(ev, JSON_COMPACT); /* once, for the answer, the history row and Kafka */
    /* Every event has a bounded size. One over SANDQ_MAX_EVENT_BYTES cannot be
     * published (the producer refuses it), so its request would fail and be
     * run again, for ever. A task's completion that large is its result: the
     * task fails once, payload_too_large, in its place (same seq: nothing of
     * this event was recorded or published). */
    size_t len = payload ? strlen(payload) : 0;
    if (len > w->cfg.max_event_bytes && strcmp(type, "sandbox.task.completed") == 0) {
        json_t *failed = too_large_failure(json_object_get(ev, "data"), len, w->cfg.max_event_bytes);
        free(payload);
        json_decref(ev);
        sq_metrics_event_too_large();
        sq_log_ctx lc = {.sandbox_id = t->sandbox_id, .request_id = req ? req->request_id : NULL, .task_id = task_id};
        sq_warn(&lc, "a task's completion of %zu bytes is over SANDQ_MAX_EVENT_BYTES: failed with payload_too_large", len);
        return sq_emit_numbered(w, t, req, task_id, "sandbox.task.failed", failed, seq, err);
    }
    int rc = payload ? 0 : sq_err_set(err, SQ_INTERNAL, "out of memory for an event");
    if (rc == 0 && len > w->cfg.max_event_bytes)
        rc = sq_err_set(err, SQ_PAYLOAD_TOO_LARGE, "a %s event of %zu bytes is over SANDQ_MAX_EVENT_BYTES (%zu)", type,
                        len, w->cfg.max_event_bytes);
    /* An answer is recorded first: if the request was taken over meanwhile
     * (ESTALE), nothing of this event is written or published. */
    if (rc == 0 && answers_claimed_request(req, type)) {
        sq_job_keep_answer(payload); /* from now on a retry only records and publishes this */
        rc = sq_redis_request_answered(w, req->request_id, payload, err);
    }
    if (rc == 0)
        rc = sq_pg_event_append(w, ev, payload, err);
    /* 015: a recording sandbox's audit row, in the same writer FIFO right
     * after its event's, so both are durable before the request is done. */
    if (rc == 0 && t->sb && t->sb->recording && seq > 0)
        rc = sq_audit_event(w, t->sb, req, task_id, type, json_object_get(ev, "data"), seq,
                            json_integer_value(json_object_get(ev, "at")), err);
    if (rc == 0)
        rc = sq_publish_event(w, t->sandbox_id, t->sandbox_id ? strlen(t->sandbox_id) : 0, payload, t->reply_to, err);
    free(payload);
    json_decref(ev);
    return rc;
}

int sq_emit(sq_worker *w, const sq_emit_target *t, const sq_request *req, const char *task_id, const char *type,
            json_t *data, sq_err *err)
{
    int64_t seq = 0;
    if (t->sandbox_id && t->has_stream && sq_redis_next_seq(w, t->sandbox_id, &seq, err) < 0) {
        json_decref(data);
        return -1;
    }
    return sq_emit_numbered(w, t, req, task_id, type, data, seq, err);
}

int sq_emit_rejected(sq_worker *w, const sq_emit_target *t, const sq_request *req, const sq_err *why, sq_err *err)
{
    json_t *data = json_object();
    json_object_set_new(data, "code", json_string(sq_code_name(why->code)));
    json_object_set_new(data, "message", json_string(why->msg));
    if (why->field[0])
        json_object_set_new(data, "field", json_string(why->field));
    sq_metrics_rejected(why->code);
    sq_log_ctx lc = {.sandbox_id = t->sandbox_id, .request_id = req ? req->request_id : NULL};
    sq_info(&lc, "rejected %s: %s: %s", req && req->type_name[0] ? req->type_name : "request", sq_code_name(why->code),
            why->msg);
    return sq_emit(w, t, req, req && req->task_id[0] ? req->task_id : NULL, "request.rejected", data, err);
}
