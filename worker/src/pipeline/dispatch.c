/* dispatch.c — see dispatch.h. */
#include "pipeline/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers/route.h"
#include "lifecycle/actor.h"
#include "lifecycle/mailbox.h"
#include "lifecycle/persist_rules.h"
#include "lifecycle/registry.h"
#include "metrics.h"
#include "notify/emit.h"
#include "pipeline/answer.h"
#include "pipeline/completer.h"
#include "pipeline/forward.h"
#include "pipeline/job.h"
#include "store/redis_store.h"
#include "sq/log.h"

/* Bytes that are not a request envelope at all go to the DLQ unchanged, with
 * the reason in headers, so nothing is silently dropped. */
static int to_dlq(sq_worker *w, const rd_kafka_message_t *m, const sq_err *why, sq_err *err)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(3);
    const char *code = sq_code_name(why->code);
    rd_kafka_header_add(h, "sandq-dlq-reason", -1, "not_envelope", -1);
    rd_kafka_header_add(h, "sandq-error-code", -1, code, (ssize_t)strlen(code));
    rd_kafka_header_add(h, "sandq-error", -1, why->msg, (ssize_t)strlen(why->msg));
    if (sq_produce(w, w->topic_dlq, m->key, m->key_len, m->payload, m->len, h, err) < 0)
        return -1;
    sq_metrics_dlq();
    sq_warn(NULL, "sent %s [%d] @%lld to the DLQ: %s", rd_kafka_topic_name(m->rkt), (int)m->partition,
            (long long)m->offset, why->msg);
    return 0;
}

/* Claim the request id in Redis. DONE: an earlier copy already took effect
 * (or was rejected); IN_FLIGHT: a copy is queued in this worker right now.
 * Either way this copy is acknowledged without a second effect. ANSWERED: a
 * run that died answered it; *answer is that answer, to publish again. */
static int claim(sq_worker *w, const sq_request *req, sq_dedupe *outcome, char **answer, sq_err *err)
{
    return sq_redis_request_begin(w, req->request_id, outcome, answer, err);
}

/* Work that needs no actor: DLQ, envelope rejections, duplicates, requests for
 * sandboxes this worker does not run, and answers a run that died had given
 * (ANSWERED: published again, same eventId; pipeline/answer.h). Done on the
 * polling thread. */
static int handle_inline(sq_worker *w, sq_job *job, sq_parse_outcome po, const sq_err *why, const char *answer,
                         sq_err *err)
{
    if (po == SQ_PARSE_NOT_ENVELOPE)
        return to_dlq(w, job->msg, why, err);
    if (answer)
        return sq_answer_again(w, answer, err);
    if (po == SQ_PARSE_REJECTED)
        return sq_route_reject(w, NULL, &job->req, why, err);
    return sq_route(w, NULL, &job->req, err);
}

static void finish_inline(sq_worker *w, sq_job *job, sq_parse_outcome po, const sq_err *why, const char *answer)
{
    /* A fresh claim may only mean Redis lost the key: the ledger knows. */
    if (po != SQ_PARSE_NOT_ENVELOPE && !answer && job->req.request_id[0] && sq_answer_ledger_knows(w, &job->req)) {
        sq_answer_duplicate(w, job, SQ_DEDUPE_NEW); /* done long ago: no effect, the same answer */
        return;
    }
    /* The polling thread retries here too, a little, then leaves the message
     * uncommitted (offsets never pass it) and keeps serving: a restart or a
     * rebalance redelivers it (an answer is found again on the request's key). */
    for (int attempt = 0; attempt < 5 && !atomic_load(&w->stopping); attempt++) {
        sq_err err;
        sq_err_clear(&err);
        sq_job_set_current(job);
        int rc = handle_inline(w, job, po, why, answer, &err);
        sq_job_set_current(NULL);
        if (rc == 0) {
            sq_completer_finish_async(job); /* the poller does not wait for acknowledgements */
            return;
        }
        if (sq_completer_finish_now(job, false) == 0)
            return;
        sq_error(&(sq_log_ctx){.request_id = job->req.request_id}, "not durable (%s); retrying", err.msg);
        sleep(1);
    }
    sq_job_abandon(job);
}

void sq_dispatch(sq_worker *w, rd_kafka_message_t *m)
{
    sq_job *job = sq_job_new(w, m);
    if (!job) {
        sq_error(NULL, "out of memory for a job; message left uncommitted");
        rd_kafka_message_destroy(m);
        return;
    }
    sq_err why;
    sq_parse_outcome po = sq_request_parse(m->payload, m->len, w->cfg.max_request_bytes, &job->req, &why);
    sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
    /* A rejected envelope whose requestId could be read is deduped too, so a
     * copy gets the first rejection again rather than a second one. */
    if (po == SQ_PARSE_NOT_ENVELOPE || (po == SQ_PARSE_REJECTED && !job->req.request_id[0])) {
        finish_inline(w, job, po, &why, NULL);
        return;
    }
    sq_err err;
    /* A sandbox another live worker hosts (its partition moved here): its
     * request goes there, before any claim of ours (pipeline/forward.h). */
    int fwd;
    while (po == SQ_PARSE_OK && (fwd = sq_forward_maybe(w, job, &err)) != 0) {
        if (fwd > 0)
            return;
        sq_error(&lc, "cannot tell who hosts the sandbox (%s); waiting for Redis", err.msg);
        if (atomic_load(&w->stopping)) {
            sq_job_abandon(job);
            return;
        }
        sleep(1);
    }
    sq_dedupe dd;
    char *answer = NULL;
    while (claim(w, &job->req, &dd, &answer, &err) < 0) {
        /* Without Redis we cannot tell a duplicate from new work: take no new
         * work until it is back (what runs keeps running). */
        sq_error(&lc, "cannot check request dedupe (%s); waiting for Redis", err.msg);
        if (atomic_load(&w->stopping)) {
            sq_job_abandon(job);
            return;
        }
        sleep(1);
    }
    job->parsed = true;
    if (dd == SQ_DEDUPE_ANSWERED) {
        finish_inline(w, job, po, NULL, answer);
        free(answer);
        return;
    }
    if (dd != SQ_DEDUPE_NEW) {
        sq_answer_duplicate(w, job, dd); /* IN_FLIGHT: the first copy is still to answer */
        return;
    }
    if (po == SQ_PARSE_REJECTED) {
        finish_inline(w, job, po, &why, NULL);
        return;
    }
    sq_debug(&lc, "handling %s", job->req.type_name);

    /* A persisted sandbox (issue 13) is brought up (or ended) by an actor of
     * this worker, the partition's owner, as a create is. */
    bool wants_actor = job->req.type == SQ_REQ_SANDBOX_CREATE;
    if (!wants_actor) {
        pthread_mutex_lock(&w->registry_mu);
        bool hosted = sq_registry_get(w, job->req.sandbox_id) != NULL;
        pthread_mutex_unlock(&w->registry_mu);
        sq_redis_sandbox known;
        if (!hosted && sq_redis_sandbox_lookup(w, job->req.sandbox_id, &known, &err) == 0) {
            /* A live owner would have had it forwarded above: a live record
             * here is this worker's from before a restart, or a dead one's. */
            sq_persist_facts pf = {.state = known.state, .persisted = known.persisted,
                                   .reason = known.persist_reason, .auto_checkpoint = known.auto_checkpoint,
                                   .owner_here_or_lost = true};
            wants_actor = sq_persist_wants_actor(&pf, job->req.type);
        }
    }
    pthread_mutex_lock(&w->registry_mu);
    sq_live_sandbox *sb = sq_registry_get(w, job->req.sandbox_id);
    if (!sb && wants_actor) {
        sb = sq_actor_new(w, job->req.sandbox_id);
        if (sb) {
            snprintf(sb->req_topic, sizeof sb->req_topic, "%s", job->topic);
            sb->req_partition = job->partition;
            sq_registry_put(w, sb);
            if (sq_actor_start(w, sb) < 0) {
                sq_registry_remove(w, sb->id);
                sq_actor_discard(sb);
                sb = NULL;
            }
        }
    }
    if (sb) {
        sq_mailbox_put(sb, job);
        pthread_mutex_unlock(&w->registry_mu);
        return;
    }
    pthread_mutex_unlock(&w->registry_mu);
    finish_inline(w, job, SQ_PARSE_OK, NULL, NULL);
}
