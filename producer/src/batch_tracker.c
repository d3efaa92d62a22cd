/* batch_tracker.c — see batch_tracker.h. The rules, in the order a job meets them:
 * applying events (sandbox lifecycle, create rejections and retries, the kill's
 * rejection, task outcomes and output), then deciding (retry, send tasks, finish,
 * time out). */
#include "batch_tracker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"

int sqp_job_init(sqp_job_track *jt, sqp_batch_job *line)
{
    memset(jt, 0, sizeof *jt);
    jt->j = *line;
    memset(line, 0, sizeof *line);
    jt->t = calloc(jt->j.ntasks ? jt->j.ntasks : 1, sizeof *jt->t);
    return jt->t ? 0 : -1;
}

void sqp_job_free(sqp_job_track *jt)
{
    for (size_t i = 0; jt->t && i < jt->j.ntasks; i++) {
        json_decref(jt->t[i].result);
        free(jt->t[i].out[0].p);
        free(jt->t[i].out[1].p);
    }
    free(jt->t);
    sqp_seqset_clear(&jt->seen);
    sqp_batch_job_free(&jt->j);
    memset(jt, 0, sizeof *jt);
}

void sqp_job_fail(sqp_job_track *jt, const char *code, const char *message)
{
    if (jt->failed)
        return;
    jt->failed = true;
    snprintf(jt->fail_code, sizeof jt->fail_code, "%s", code);
    snprintf(jt->fail_msg, sizeof jt->fail_msg, "%s", message);
}

void sqp_job_start(sqp_job_track *jt, int64_t now)
{
    snprintf(jt->create_req_cur, sizeof jt->create_req_cur, "%s", jt->j.create_request_id);
    jt->phase = SQP_JOB_STARTED;
    jt->started_ms = now;
    jt->live = !jt->j.raw;
}

void sqp_job_published(sqp_job_track *jt)
{
    jt->acks_pending++;
}

bool sqp_job_delivered(sqp_job_track *jt, bool first, bool last, sandq_code code, const char *message)
{
    jt->acks_pending--;
    if (code) {
        sqp_job_fail(jt, sandq_code_name(code), message);
        return false;
    }
    if (last)
        jt->last_acked = true;
    if (first && !jt->submitted) {
        jt->submitted = true;
        return true;
    }
    return false;
}

/* ---- applying events ---- */

static const char *data_str(const json_t *data, const char *key)
{
    const json_t *v = json_object_get(data, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static sqp_task_track *find_task(sqp_job_track *jt, const char *task_id, const char *request_id)
{
    for (size_t i = 0; i < jt->j.ntasks; i++)
        if ((task_id[0] && strcmp(jt->j.tasks[i].task_id, task_id) == 0) ||
            (request_id[0] && strcmp(jt->j.tasks[i].request_id, request_id) == 0))
            return &jt->t[i];
    return NULL;
}

void sqp_job_create_attempt_id(const sqp_job_track *jt, int k, char out[SQ_ID_MAX])
{
    if (k == 0) {
        snprintf(out, SQ_ID_MAX, "%s", jt->j.create_request_id);
        return;
    }
    unsigned char seed[SQP_BATCH_SEED_LEN];
    sqp_batch_seed("create-retry", (uint64_t)k, jt->j.create_request_id, strlen(jt->j.create_request_id), seed);
    sqp_batch_id(seed, "req", "create", out);
}

static bool is_create_attempt(const sqp_job_track *jt, const char *request_id)
{
    if (!request_id[0])
        return false;
    char id[SQ_ID_MAX];
    for (int k = 0; k <= jt->create_attempt; k++) {
        sqp_job_create_attempt_id(jt, k, id);
        if (strcmp(id, request_id) == 0)
            return true;
    }
    return false;
}

static void out_append(sqp_outbuf *s, const void *p, size_t n)
{
    if (s->len + n > SQP_JOB_OUTPUT_CAP) {
        s->truncated = true;
        n = s->len < SQP_JOB_OUTPUT_CAP ? SQP_JOB_OUTPUT_CAP - s->len : 0;
    }
    if (!n)
        return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *q = realloc(s->p, cap);
        if (!q) {
            s->truncated = true;
            return;
        }
        s->p = q;
        s->cap = cap;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

/* Output in stream order, each byte once: a chunk past what was taken (an earlier
 * one not read yet) waits for the catch-up that re-reads the stream in order. */
static void take_output(sqp_task_track *t, const json_t *data)
{
    sqp_out_chunk ch;
    if (sqp_out_chunk_decode(data, &ch) == SQP_CHUNK_OK && (ch.stream == 0 || ch.stream == 1) && ch.has_offset &&
        ch.offset <= t->next[ch.stream]) {
        size_t skip;
        size_t take = sqp_chunk_accept(&t->next[ch.stream], ch.offset, ch.len, &skip);
        if (take)
            out_append(&t->out[ch.stream], ch.bytes + skip, take);
    }
    free(ch.bytes);
}

static void task_event(sqp_task_track *t, const sqp_job_cfg *cfg, const sandq_event *ev, const json_t *data)
{
    /* Output is taken even after the task's outcome: a catch-up re-reads the chunks
     * that came before a completion this run saw first; offsets dedupe. */
    bool output = strcmp(ev->type, "sandbox.task.output") == 0;
    if (t->status != SQP_TASK_PENDING && !output)
        return;
    if (output) {
        if (cfg->wait)
            take_output(t, data);
    } else if (strcmp(ev->type, "sandbox.task.completed") == 0) {
        t->status = SQP_TASK_COMPLETED;
        t->outcome_seq = ev->seq;
        const json_t *ec = json_object_get(data, "exitCode");
        t->exit_code = json_is_integer(ec) ? (int)json_integer_value(ec) : -1;
        json_t *res = json_object_get(data, "result");
        if (res && cfg->wait)
            t->result = json_incref(res);
    } else if (strcmp(ev->type, "sandbox.task.failed") == 0) {
        t->status = SQP_TASK_FAILED;
        t->outcome_seq = ev->seq;
        snprintf(t->code, sizeof t->code, "%s", data_str(data, "code"));
        snprintf(t->message, sizeof t->message, "%s", data_str(data, "message"));
    }
}

static void note_end(sqp_job_track *jt, int64_t seq)
{
    jt->ended_seen = true;
    if (!jt->end_seq)
        jt->end_seq = seq;
}

static void rejected(sqp_job_track *jt, const sandq_event *ev, const json_t *data, int64_t now)
{
    const char *code = data_str(data, "code");
    if (is_create_attempt(jt, ev->request_id)) {
        /* limit_exceeded naming a field of the request (body.limits.memoryMb above the
         * operator's maximum) is the request's own fault: no retry helps. Without a
         * field it is the workers' capacity: try again soon, unless an attempt already
         * succeeded or a retry is already due. */
        bool capacity = strcmp(code, "limit_exceeded") == 0 && !*data_str(data, "field");
        if (capacity) {
            if (!jt->seen_first && !jt->ready_seen && !jt->retry_at &&
                strcmp(ev->request_id, jt->create_req_cur) == 0) {
                int backoff = 250 * (jt->create_attempt < 8 ? jt->create_attempt + 1 : 8);
                jt->retry_at = now + backoff;
            }
        } else if (!jt->seen_first) {
            sqp_job_fail(jt, code, data_str(data, "message"));
            jt->ended_seen = true; /* nothing more will happen to it */
        }
    } else if (strcmp(ev->request_id, jt->j.kill_request_id) == 0) {
        note_end(jt, ev->seq); /* already ended: the kill has nothing to do */
    } else {
        sqp_task_track *t = find_task(jt, "", ev->request_id);
        if (t && t->status == SQP_TASK_PENDING) {
            t->status = SQP_TASK_FAILED;
            t->outcome_seq = ev->seq;
            snprintf(t->code, sizeof t->code, "%s", code);
            snprintf(t->message, sizeof t->message, "rejected: %s", data_str(data, "message"));
        }
    }
}

bool sqp_job_apply(sqp_job_track *jt, const sqp_job_cfg *cfg, const sandq_event *ev, int64_t now)
{
    if (jt->skip || jt->phase == SQP_JOB_FINISHED)
        return false;
    /* At least once, and replays: an event already applied to this job is dropped (its
     * seq; seq-0 rejections are matched by their requestId, where a second copy
     * changes nothing). */
    if (sqp_seqset_add(&jt->seen, ev->seq) == 0)
        return false;
    if (sqp_seqset_prefix(&jt->seen) < sqp_seqset_max(&jt->seen)) {
        if (!jt->gap_since)
            jt->gap_since = now;
    } else {
        jt->gap_since = 0;
    }
    if (ev->seq == 1)
        jt->seen_first = true;
    json_t *data = json_loads(ev->data_json, 0, NULL);
    const char *type = ev->type;
    if (strcmp(type, "sandbox.ready") == 0 || strcmp(type, "sandbox.resumed") == 0) {
        jt->ready_seen = true;
    } else if (strcmp(type, "sandbox.ended") == 0) {
        note_end(jt, ev->seq);
    } else if (strcmp(type, "sandbox.failed") == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: %s", data_str(data, "reason"), data_str(data, "message"));
        sqp_job_fail(jt, "sandbox_failed", msg);
        note_end(jt, ev->seq);
    } else if (strcmp(type, "request.rejected") == 0) {
        rejected(jt, ev, data, now);
    } else if (strncmp(type, "sandbox.task.", 13) == 0) {
        sqp_task_track *t = find_task(jt, ev->task_id, "");
        if (t)
            task_event(t, cfg, ev, data);
    }
    json_decref(data);
    return true;
}

/* A raw line's request is answered by the first event of its request id that ends
 * it, by the request's type; the failures among them fail the line. */
static bool raw_answer(sqp_job_track *jt, const char *type, const json_t *data)
{
    const char *rt = jt->j.raw_type;
    if (strcmp(type, "request.rejected") == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", data_str(data, "message"));
        sqp_job_fail(jt, data_str(data, "code"), msg);
        return true;
    }
    if (strcmp(rt, "sandbox.create") == 0 || strcmp(rt, "sandbox.resume") == 0) {
        if (strcmp(type, "sandbox.failed") == 0)
            sqp_job_fail(jt, "sandbox_failed", data_str(data, "message"));
        return strcmp(type, "sandbox.ready") == 0 || strcmp(type, "sandbox.resumed") == 0 ||
               strcmp(type, "sandbox.failed") == 0;
    }
    if (strcmp(rt, "sandbox.kill") == 0)
        return strcmp(type, "sandbox.ended") == 0;
    if (strcmp(rt, "sandbox.pause") == 0)
        return strcmp(type, "sandbox.paused") == 0;
    if (strncmp(rt, "task.", 5) == 0 || strncmp(rt, "files.", 6) == 0) {
        if (strcmp(type, "sandbox.task.failed") == 0) {
            sqp_job_fail(jt, data_str(data, "code"), data_str(data, "message"));
            return true;
        }
        if (strcmp(type, "sandbox.task.completed") != 0)
            return false;
        const json_t *ec = json_object_get(data, "exitCode");
        if (json_is_integer(ec) && json_integer_value(ec) != 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "exit code %lld", (long long)json_integer_value(ec));
            sqp_job_fail(jt, "exit_code", msg);
        }
        return true;
    }
    return true;
}

void sqp_job_apply_raw(sqp_job_track *jt, const sandq_event *ev)
{
    if (jt->raw_answered)
        return;
    json_t *data = json_loads(ev->data_json, 0, NULL);
    if (raw_answer(jt, ev->type, data)) {
        jt->raw_answered = true;
        snprintf(jt->raw_event, sizeof jt->raw_event, "%s", ev->type);
    }
    json_decref(data);
}

/* ---- deciding ---- */

bool sqp_job_needs_catch_up(const sqp_job_track *jt, int64_t now)
{
    if (jt->phase != SQP_JOB_STARTED || jt->j.raw || !jt->submitted || jt->caught_up)
        return false;
    if (!jt->seen_first)
        return now - jt->started_ms > SQP_JOB_CATCH_UP_AFTER_MS;
    return jt->gap_since && now - jt->gap_since > SQP_JOB_CATCH_UP_AFTER_MS;
}

void sqp_job_caught_up(sqp_job_track *jt)
{
    jt->caught_up = true;
}

/* Whether every event of the job's sandbox up to the one that decides it (its end;
 * with keep, its last task's outcome) has been applied: only then do its task
 * results hold all their output. Events arrive in seq order except replays and
 * re-reads, so the prefix of applied seqs says it — or a catch-up that read the
 * sandbox's partition from its creation. */
static bool history_whole(const sqp_job_track *jt)
{
    if (jt->caught_up)
        return true;
    int64_t need = 0;
    if (jt->j.keep) {
        for (size_t i = 0; i < jt->j.ntasks; i++)
            if (jt->t[i].outcome_seq > need)
                need = jt->t[i].outcome_seq;
    } else {
        if (!jt->end_seq)
            return false;
        need = jt->end_seq;
    }
    return sqp_seqset_prefix(&jt->seen) >= need;
}

static sqp_job_action finish(sqp_job_track *jt)
{
    jt->phase = SQP_JOB_FINISHED;
    jt->live = false;
    sqp_seqset_clear(&jt->seen); /* later events of it are ignored: keep memory per live job */
    return SQP_JOB_FINISH;
}

static sqp_job_action next_raw(sqp_job_track *jt, const sqp_job_cfg *cfg, int64_t now)
{
    bool answered = cfg->wait ? jt->raw_answered : jt->submitted;
    /* setTimeout has no acknowledging event: its acknowledgement by Kafka is its answer */
    bool quiet = cfg->wait && jt->submitted && strcmp(jt->j.raw_type, "sandbox.setTimeout") == 0;
    if (jt->failed || answered || quiet)
        return finish(jt);
    if (now - jt->started_ms > cfg->job_timeout_ms) {
        sqp_job_fail(jt, "wait_timeout", "no answer within --job-timeout");
        return finish(jt);
    }
    return SQP_JOB_WAIT;
}

sqp_job_action sqp_job_next(sqp_job_track *jt, const sqp_job_cfg *cfg, int64_t now)
{
    if (jt->phase != SQP_JOB_STARTED)
        return SQP_JOB_WAIT;
    if (jt->j.raw)
        return next_raw(jt, cfg, now);
    if (jt->retry_at && now >= jt->retry_at) {
        jt->retry_at = 0;
        if (!jt->seen_first && !jt->ready_seen && !jt->failed) {
            jt->create_attempt++;
            sqp_job_create_attempt_id(jt, jt->create_attempt, jt->create_req_cur);
            return SQP_JOB_RETRY_CREATE;
        }
    }
    /* After sandbox.ready: every task in order, then the kill. The worker runs a
     * sandbox's requests in partition order, so the kill waits behind the tasks. */
    if (jt->ready_seen && !jt->tasks_sent && !jt->failed && jt->acks_pending == 0) {
        jt->tasks_sent = true;
        if (jt->j.keep && jt->j.ntasks == 0) /* nothing more to send */
            jt->last_acked = true;
        return SQP_JOB_SEND_TASKS;
    }
    if (jt->ended_seen)
        jt->live = false;
    if (jt->failed && jt->acks_pending == 0 && (jt->ended_seen || !jt->submitted || !cfg->wait))
        return finish(jt);
    if (cfg->wait) {
        /* "ended" means "its tasks are done" only if we saw its whole history: a run
         * whose subscription began in the middle of an earlier run's events (a lost
         * results file) may see just the end of it — a task's completion without the
         * output before it — and replays of its duplicated requests may bring the
         * beginning (seq 1) after that end. */
        bool all_tasks = true;
        for (size_t i = 0; i < jt->j.ntasks; i++)
            if (jt->t[i].status == SQP_TASK_PENDING)
                all_tasks = false;
        bool whole = history_whole(jt);
        bool done = jt->j.keep ? all_tasks && jt->tasks_sent && whole : jt->ended_seen && whole;
        if (done && jt->acks_pending == 0)
            return finish(jt);
    } else if (jt->tasks_sent && jt->last_acked && jt->acks_pending == 0) {
        return finish(jt);
    }
    if (now - jt->started_ms > cfg->job_timeout_ms && !jt->failed) {
        sqp_job_fail(jt, "wait_timeout", jt->ready_seen ? "the job did not finish within --job-timeout"
                                                        : "the sandbox was not ready within --job-timeout");
        bool kill = !jt->j.keep && !jt->ended_seen; /* end the sandbox so it does not linger */
        jt->ended_seen = true;
        if (kill)
            return SQP_JOB_SEND_KILL;
    }
    return SQP_JOB_WAIT;
}

bool sqp_job_succeeded(const sqp_job_track *jt)
{
    if (jt->failed)
        return false;
    if (jt->j.raw)
        return true;
    for (size_t i = 0; i < jt->j.ntasks; i++)
        if (jt->t[i].status != SQP_TASK_COMPLETED || jt->t[i].exit_code > 0)
            return false;
    return true;
}

const char *sqp_task_status_name(sqp_task_status s)
{
    return s == SQP_TASK_COMPLETED ? "completed" : s == SQP_TASK_FAILED ? "failed" : "not_run";
}
