/* cmd_batch.c — `sandq batch submit FILE`: submit a JSONL file of jobs at volume.
 *
 * Each line is a job (a sandbox, its tasks, then a kill) or a raw request envelope
 * (producer/src/batch.h has the format). Every id a line needs is derived from the
 * line itself (batch.h: deterministic ids), so running the same command again after
 * Ctrl-C or a crash re-sends byte-identical request ids: the worker's requestId dedupe
 * drops the copies, and lines already recorded in the output file are skipped.
 *
 * One process, one thread, one Kafka consumer for every sandbox of the file
 * (sandq_events_open_since on all partitions, routed by sandbox id through a hash
 * table), one producer publishing asynchronously (sandq_publish: librdkafka batching,
 * idempotent, a delivery report checked for every message). The loop:
 *   start lines  (token bucket --rate, at most --max-sandboxes live sandboxes)
 *   → publish    (create; after sandbox.ready: the tasks in order, then the kill)
 *   → follow     (task output/results, sandbox.ended/failed, request.rejected)
 *   → record     (one outcome line per job in the output JSONL, flushed at once)
 * A `<output>.state` file remembers when the first run started, so a resumed run
 * re-reads the events of jobs that were in flight. Their requests, sent again, are
 * duplicates: the worker does not run them again but answers each with its stored
 * events (same eventIds and seqs, published after newer ones). Every event is applied
 * at most once per job (its sandbox's seqs, seqset.h), so a replay is information —
 * it can fill in what this run has not read — never a second outcome; and a job is
 * judged only once the history of its sandbox is whole up to its end. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "internal.h"
#include "seqset.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/env.h"
#include "units.h"

#define OUTPUT_CAP (64 * 1024)   /* bytes of stdout/stderr kept per task in the results */
#define DRAIN_MAX 2000           /* events handled per loop turn */
#define REPLAY_SLACK_MS 30000    /* re-read events from this long before the first run */

static const char help[] =
    "usage: sandq batch submit FILE [options]\n"
    "\n"
    "Submit every line of FILE (JSONL) at volume. A line is either a job:\n"
    "  {\"create\": {CREATE BODY}, \"tasks\": [TASK...], \"metadata\": {...}, \"keep\": false}\n"
    "  TASK = {\"exec\": [\"cmd\",\"arg\"...]} | {\"sh\": \"line\"} | {\"code\": \"...\", \"language\": \"python\"}\n"
    "         | {\"type\": \"files.write\", \"body\": {...}}      (each may add \"timeoutMs\")\n"
    "a job creates a sandbox, runs its tasks in order once it is ready, then kills it\n"
    "(unless keep); or a raw request envelope {\"type\": \"...\", \"body\": {...}, ...}, sent\n"
    "as is. Blank lines and lines starting with # are skipped.\n"
    "\n"
    "Ids are derived from each line (its bytes, its number and --salt), so running the\n"
    "same command again after Ctrl-C resumes: the worker drops duplicate requests and\n"
    "lines already in the output file are skipped.\n"
    "\n"
    "Options:\n"
    "  --rate N/s           start at most N lines per second (also N/m; default unlimited)\n"
    "  --max-sandboxes K    at most K sandboxes of this batch live at once (default 50;\n"
    "                       0 = no limit). A create the workers refuse as full\n"
    "                       (limit_exceeded) is retried after a pause, until --job-timeout;\n"
    "                       one whose own limits are above the workers' maximum fails\n"
    "  --wait               wait for every job's outcome and write it, with its task\n"
    "                       results, to the output file\n"
    "  -o, --output FILE    results JSONL (default FILE.results.jsonl); one line per job:\n"
    "                       {\"line\",\"sandboxId\",\"status\",\"error\"?,\"tasks\":[{\"taskId\",\n"
    "                       \"status\",\"exitCode\",\"stdout\",\"stderr\",\"result\"?,\"error\"?}],\n"
    "                       \"durationMs\"}; without --wait {\"line\",\"sandboxId\",\"status\":\"submitted\"}\n"
    "  --job-timeout D      give up on a job after D (default 10m): failed, wait_timeout\n"
    "  --salt S             mix S into the ids: the same file with another salt is new work\n"
    "  --region R           region for jobs whose create body has none\n"
    "  --linger-ms N        producer linger.ms (default 20)\n"
    "  --json               print the final summary as JSON\n"
    "  -h, --help           this help\n"
    "\n"
    "Progress goes to stderr: a live bar on a terminal, else a plain line every 2s.\n"
    "Exit codes: 0 all succeeded (or, without --wait, all submitted); 1 some failed;\n"
    "2 bad usage or a malformed line (nothing is sent); 130 interrupted (re-run to resume).\n"
    "\n"
    "Examples:\n"
    "  sandq batch submit jobs.jsonl --rate 200/s --max-sandboxes 50 --wait\n"
    "  sandq batch submit jobs.jsonl --wait -o results.jsonl && jq -c 'select(.status!=\"succeeded\")' results.jsonl\n"
    "  echo '{\"create\":{},\"tasks\":[{\"sh\":\"echo hi\"}]}' > j.jsonl && sandq batch submit j.jsonl --wait\n";

enum { O_RATE = 256, O_MAX, O_WAIT, O_TIMEOUT, O_SALT, O_REGION, O_LINGER, O_JSON };

static const struct option opts[] = {
    {"rate", required_argument, 0, O_RATE},       {"max-sandboxes", required_argument, 0, O_MAX},
    {"wait", no_argument, 0, O_WAIT},             {"output", required_argument, 0, 'o'},
    {"job-timeout", required_argument, 0, O_TIMEOUT}, {"salt", required_argument, 0, O_SALT},
    {"region", required_argument, 0, O_REGION},   {"linger-ms", required_argument, 0, O_LINGER},
    {"json", no_argument, 0, O_JSON},             {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* ---- per-line runtime state ---- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
    bool truncated;
} strbuf;

typedef struct task_rt {
    int status; /* 0 pending, 1 completed, 2 failed */
    int exit_code;
    char code[32];
    char message[256];
    json_t *result;
    strbuf out[2];
    uint64_t next[2]; /* stream offsets taken (dedupes replayed chunks) */
    int64_t outcome_seq; /* seq of the event that gave its status (0: none, or outside the stream) */
} task_rt;

typedef enum { JOB_PENDING, JOB_STARTED, JOB_FINISHED } job_phase;

typedef struct job_rt job_rt;
struct job_rt {
    sqp_batch_job j;
    /* every request of the line, serialized and checked once when the file is read:
     * a job's create, its tasks, its kill (unless keep); a raw line's envelope */
    char **msgs;
    size_t nmsgs;
    struct pub_ctx *ctx; /* one delivery context per message, allocated with msgs */
    char region[8];     /* a job's create region ("" for none) */
    job_phase phase;
    bool skip;          /* recorded by an earlier run */
    /* facts learned from events (possibly before this run started the line) */
    bool ready_seen, ended_seen, failed;
    bool tasks_sent;
    bool submitted;     /* its first request was acknowledged by Kafka */
    bool live;          /* counted in `live` */
    int acks_pending;   /* messages published, delivery not yet reported */
    bool last_acked;    /* without --wait: the job's last request was acknowledged */
    char fail_code[32];
    char fail_msg[256];
    task_rt *t;
    int64_t started_ms;
    bool seen_first;    /* its sandbox's first event (seq 1, sandbox.created) has been read */
    bool caught_up;     /* catch_up() ran */
    sqp_seqset seen;    /* seqs of its sandbox's events applied (released when it finishes) */
    int64_t end_seq;    /* seq of the first end seen: sandbox.ended/failed, or the kill's rejection */
    int64_t gap_since;  /* sq_mono_ms() since a hole in the seqs applied, 0 if none */
    /* a create refused with limit_exceeded (the workers are full) is sent again after
     * a pause, under a new request id derived from the first: attempt k's id is
     * fixed too, so a resumed run's copies are still duplicates */
    int create_attempt;
    char create_req_cur[SQ_ID_MAX];
    int64_t retry_at;   /* sq_mono_ms() of the next attempt, 0 if none is due */
    /* raw lines */
    bool raw_answered;
    char raw_event[48];
};

typedef struct batch {
    sandq_client_t *c;
    sandq_sub_t *sub;
    job_rt *jobs;
    size_t njobs;
    /* open-addressing tables: id → job index + 1 */
    uint32_t *by_sbx, *by_req;
    size_t tcap;
    bool wait;
    int64_t job_timeout_ms;
    size_t max_live;
    FILE *out;
    const char *out_path;
    const char *region;
    /* counters */
    uint64_t total, skipped, submitted, succeeded, failed, live, finished;
    uint64_t publish_errors;
    int64_t t0;
} batch;

/* ---- id tables ---- */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void table_put(batch *b, uint32_t *t, const char *id, size_t idx)
{
    if (!id[0])
        return;
    for (size_t i = hash_id(id) & (b->tcap - 1);; i = (i + 1) & (b->tcap - 1)) {
        if (!t[i]) {
            t[i] = (uint32_t)idx + 1;
            return;
        }
    }
}

static job_rt *table_get(batch *b, const uint32_t *t, const char *id, bool raw_table)
{
    if (!id || !id[0])
        return NULL;
    for (size_t i = hash_id(id) & (b->tcap - 1); t[i]; i = (i + 1) & (b->tcap - 1)) {
        job_rt *j = &b->jobs[t[i] - 1];
        const char *key = raw_table ? j->j.raw_request_id : j->j.sandbox_id;
        if (strcmp(key, id) == 0)
            return j;
    }
    return NULL;
}

/* ---- output ---- */

static void sb_append(strbuf *s, const void *p, size_t n)
{
    if (s->len + n > OUTPUT_CAP) {
        s->truncated = true;
        n = s->len < OUTPUT_CAP ? OUTPUT_CAP - s->len : 0;
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

static json_t *text_json(const strbuf *s)
{
    return json_stringn(s->p ? s->p : "", s->len) ?: json_string("(not UTF-8)");
}

static bool job_ok(const job_rt *jr)
{
    if (jr->failed)
        return false;
    for (size_t i = 0; i < jr->j.ntasks; i++)
        if (jr->t[i].status != 1 || jr->t[i].exit_code > 0)
            return false;
    return true;
}

static void record(batch *b, job_rt *jr, const char *status)
{
    if (!b->out)
        return;
    if (!b->wait && !jr->failed) {
        /* the common line at volume, without a JSON library round trip: every field is
         * an id, a type name or a fixed word (no escaping needed) */
        if (jr->j.raw)
            fprintf(b->out, "{\"line\":%llu,\"sandboxId\":\"%s\",\"status\":\"%s\",\"type\":\"%s\",\"requestId\":\"%s\"}\n",
                    (unsigned long long)jr->j.line, jr->j.sandbox_id, status, jr->j.raw_type, jr->j.raw_request_id);
        else
            fprintf(b->out, "{\"line\":%llu,\"sandboxId\":\"%s\",\"status\":\"%s\"}\n",
                    (unsigned long long)jr->j.line, jr->j.sandbox_id, status);
        return;
    }
    json_t *o = json_pack("{s:I, s:s, s:s}", "line", (json_int_t)jr->j.line, "sandboxId", jr->j.sandbox_id, "status",
                          status);
    if (jr->j.raw) {
        json_object_set_new(o, "type", json_string(jr->j.raw_type));
        json_object_set_new(o, "requestId", json_string(jr->j.raw_request_id));
        if (jr->raw_event[0])
            json_object_set_new(o, "event", json_string(jr->raw_event));
    }
    if (jr->failed)
        json_object_set_new(o, "error", json_pack("{s:s, s:s}", "code", jr->fail_code, "message", jr->fail_msg));
    if (b->wait && !jr->j.raw) {
        json_t *tasks = json_array();
        for (size_t i = 0; i < jr->j.ntasks; i++) {
            task_rt *t = &jr->t[i];
            json_t *to = json_pack("{s:s, s:s, s:s}", "taskId", jr->j.tasks[i].task_id, "type", jr->j.tasks[i].type,
                                   "status", t->status == 1 ? "completed" : t->status == 2 ? "failed" : "not_run");
            if (t->status == 1 && t->exit_code >= 0)
                json_object_set_new(to, "exitCode", json_integer(t->exit_code));
            if (t->status)
                json_object_set_new(to, "stdout", text_json(&t->out[0]));
            if (t->status)
                json_object_set_new(to, "stderr", text_json(&t->out[1]));
            if (t->out[0].truncated || t->out[1].truncated)
                json_object_set_new(to, "truncated", json_true());
            if (t->result)
                json_object_set(to, "result", t->result);
            if (t->status == 2)
                json_object_set_new(to, "error", json_pack("{s:s, s:s}", "code", t->code, "message", t->message));
            json_array_append_new(tasks, to);
        }
        json_object_set_new(o, "tasks", tasks);
        json_object_set_new(o, "durationMs", json_integer(sq_mono_ms() - jr->started_ms));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s) {
        fputs(s, b->out);
        fputc('\n', b->out);
        free(s);
        /* flushed by the main loop every 100 ms and at exit: a crash loses at most
         * those lines, whose jobs a re-run then redoes as duplicates (no effect) */
    }
}

static void finish(batch *b, job_rt *jr)
{
    if (jr->phase == JOB_FINISHED)
        return;
    jr->phase = JOB_FINISHED;
    sqp_seqset_clear(&jr->seen); /* later events of it are ignored: keep memory per live job */
    b->finished++;
    if (jr->live) {
        jr->live = false;
        b->live--;
    }
    if (!b->wait) {
        record(b, jr, jr->failed ? "failed" : "submitted");
        if (jr->failed)
            b->failed++;
        return;
    }
    bool ok = jr->j.raw ? !jr->failed : job_ok(jr);
    if (ok)
        b->succeeded++;
    else
        b->failed++;
    record(b, jr, ok ? "succeeded" : "failed");
}

static void job_fail(job_rt *jr, const char *code, const char *msg)
{
    if (jr->failed)
        return;
    jr->failed = true;
    snprintf(jr->fail_code, sizeof jr->fail_code, "%s", code);
    snprintf(jr->fail_msg, sizeof jr->fail_msg, "%s", msg);
}

/* ---- publishing ---- */

typedef struct pub_ctx {
    struct batch *b;
    struct job_rt *jr;
    bool first; /* the line's first request */
    bool last;  /* the line's last request */
} pub_ctx;

static void on_delivery(void *user, sandq_code code, const char *message)
{
    pub_ctx *p = user;
    job_rt *jr = p->jr;
    batch *b = p->b;
    jr->acks_pending--;
    if (code) {
        b->publish_errors++;
        job_fail(jr, sandq_code_name(code), message);
    } else {
        if (p->first && !jr->submitted) {
            jr->submitted = true;
            b->submitted++;
        }
        if (p->last)
            jr->last_acked = true;
    }
}

static void publish(batch *b, job_rt *jr, size_t idx, bool first, bool last)
{
    pub_ctx *p = &jr->ctx[idx];
    *p = (pub_ctx){b, jr, first, last};
    bool create = !jr->j.raw && idx == 0;
    const char *msg = jr->msgs[idx];
    sandq_error err;
    if (sandq_publish_checked(b->c, jr->j.sandbox_id, create ? jr->region : NULL, msg, strlen(msg), on_delivery, p,
                              &err)) {
        b->publish_errors++;
        job_fail(jr, sandq_code_name(err.code), err.message);
    } else {
        jr->acks_pending++;
    }
}

static json_t *job_metadata(const job_rt *jr)
{
    json_t *m = jr->j.metadata ? json_deep_copy(jr->j.metadata) : json_object();
    char line[24];
    snprintf(line, sizeof line, "%llu", (unsigned long long)jr->j.line);
    json_object_set_new(m, "batchLine", json_string(line));
    return m;
}

static void start_line(batch *b, job_rt *jr)
{
    snprintf(jr->create_req_cur, sizeof jr->create_req_cur, "%s", jr->j.create_request_id);
    jr->phase = JOB_STARTED;
    jr->started_ms = sq_mono_ms();
    if (!jr->j.raw) {
        jr->live = true;
        b->live++;
    }
    publish(b, jr, 0, true, jr->j.raw);
}

/* After sandbox.ready: every task in order, then the kill. The worker runs a
 * sandbox's requests in partition order, and the kill is sent `inOrder`, so it
 * waits behind the tasks. */
static void send_tasks(batch *b, job_rt *jr)
{
    jr->tasks_sent = true;
    for (size_t i = 1; i < jr->nmsgs; i++)
        publish(b, jr, i, false, i + 1 == jr->nmsgs);
    if (jr->nmsgs == 1) /* keep and no tasks: nothing more to send */
        jr->last_acked = true;
}

/* ---- events ---- */

static const char *data_str(const json_t *data, const char *key)
{
    const json_t *v = json_object_get(data, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static task_rt *find_task(job_rt *jr, const char *task_id, const char *request_id)
{
    for (size_t i = 0; i < jr->j.ntasks; i++)
        if ((task_id[0] && strcmp(jr->j.tasks[i].task_id, task_id) == 0) ||
            (request_id[0] && strcmp(jr->j.tasks[i].request_id, request_id) == 0))
            return &jr->t[i];
    return NULL;
}

static void on_raw_event(job_rt *jr, const sandq_event *ev, const json_t *data)
{
    if (jr->raw_answered)
        return;
    const char *type = ev->type;
    const char *rt = jr->j.raw_type;
    bool terminal;
    if (strcmp(type, "request.rejected") == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", data_str(data, "message"));
        job_fail(jr, data_str(data, "code"), msg);
        terminal = true;
    } else if (strcmp(rt, "sandbox.create") == 0 || strcmp(rt, "sandbox.resume") == 0) {
        terminal = strcmp(type, "sandbox.ready") == 0 || strcmp(type, "sandbox.resumed") == 0 ||
                   strcmp(type, "sandbox.failed") == 0;
        if (strcmp(type, "sandbox.failed") == 0)
            job_fail(jr, "sandbox_failed", data_str(data, "message"));
    } else if (strcmp(rt, "sandbox.kill") == 0) {
        terminal = strcmp(type, "sandbox.ended") == 0;
    } else if (strcmp(rt, "sandbox.pause") == 0) {
        terminal = strcmp(type, "sandbox.paused") == 0;
    } else if (strncmp(rt, "task.", 5) == 0 || strncmp(rt, "files.", 6) == 0) {
        terminal = strcmp(type, "sandbox.task.completed") == 0 || strcmp(type, "sandbox.task.failed") == 0;
        if (strcmp(type, "sandbox.task.failed") == 0)
            job_fail(jr, data_str(data, "code"), data_str(data, "message"));
        else if (terminal) {
            const json_t *ec = json_object_get(data, "exitCode");
            if (json_is_integer(ec) && json_integer_value(ec) != 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "exit code %lld", (long long)json_integer_value(ec));
                job_fail(jr, "exit_code", msg);
            }
        }
    } else {
        terminal = true;
    }
    if (terminal) {
        jr->raw_answered = true;
        snprintf(jr->raw_event, sizeof jr->raw_event, "%s", type);
    }
}

/* The request id of create attempt k (k ≥ 1): derived from the first attempt's. */
static void create_attempt_id(const job_rt *jr, int k, char out[SQ_ID_MAX])
{
    if (k == 0) {
        snprintf(out, SQ_ID_MAX, "%s", jr->j.create_request_id);
        return;
    }
    unsigned char seed[SQP_BATCH_SEED_LEN];
    sqp_batch_seed("create-retry", (uint64_t)k, jr->j.create_request_id, strlen(jr->j.create_request_id), seed);
    sqp_batch_id(seed, "req", "create", out);
}

static bool is_create_attempt(const job_rt *jr, const char *request_id)
{
    if (!request_id[0])
        return false;
    char id[SQ_ID_MAX];
    for (int k = 0; k <= jr->create_attempt; k++) {
        create_attempt_id(jr, k, id);
        if (strcmp(id, request_id) == 0)
            return true;
    }
    return false;
}

static void on_event(batch *b, const sandq_event *ev)
{
    json_t *data = json_loads(ev->data_json, 0, NULL);
    /* without --wait a raw line's outcome is its acknowledgement by Kafka */
    job_rt *raw = b->wait ? table_get(b, b->by_req, ev->request_id, true) : NULL;
    if (raw)
        on_raw_event(raw, ev, data);
    job_rt *jr = table_get(b, b->by_sbx, ev->sandbox_id, false);
    if (!jr || jr->skip || jr->phase == JOB_FINISHED) {
        json_decref(data);
        return;
    }
    /* At least once, and replays: an event already applied to this job is dropped
     * (its seq; seq-0 rejections are matched by their requestId below, where a
     * second copy changes nothing). */
    if (sqp_seqset_add(&jr->seen, ev->seq) == 0) {
        json_decref(data);
        return;
    }
    if (sqp_seqset_prefix(&jr->seen) < sqp_seqset_max(&jr->seen)) {
        if (!jr->gap_since)
            jr->gap_since = sq_mono_ms();
    } else {
        jr->gap_since = 0;
    }
    if (ev->seq == 1)
        jr->seen_first = true;
    const char *type = ev->type;
    if (strcmp(type, "sandbox.ready") == 0 || strcmp(type, "sandbox.resumed") == 0) {
        jr->ready_seen = true;
    } else if (strcmp(type, "sandbox.ended") == 0) {
        jr->ended_seen = true;
        if (!jr->end_seq)
            jr->end_seq = ev->seq;
    } else if (strcmp(type, "sandbox.failed") == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: %s", data_str(data, "reason"), data_str(data, "message"));
        job_fail(jr, "sandbox_failed", msg);
        jr->ended_seen = true;
        if (!jr->end_seq)
            jr->end_seq = ev->seq;
    } else if (strcmp(type, "request.rejected") == 0) {
        const char *code = data_str(data, "code");
        if (is_create_attempt(jr, ev->request_id)) {
            /* limit_exceeded naming a field of the request (body.limits.memoryMb
             * above the operator's maximum) is the request's own fault: no retry
             * helps. Without a field it is the workers' capacity: retry. */
            bool capacity = strcmp(code, "limit_exceeded") == 0 && !*data_str(data, "field");
            if (capacity) {
                /* workers full: try again soon unless an attempt already succeeded */
                if (!jr->seen_first && !jr->ready_seen && !jr->retry_at &&
                    strcmp(ev->request_id, jr->create_req_cur) == 0) {
                    int backoff = 250 * (jr->create_attempt < 8 ? jr->create_attempt + 1 : 8);
                    jr->retry_at = sq_mono_ms() + backoff;
                }
            } else if (!jr->seen_first) {
                job_fail(jr, code, data_str(data, "message"));
                jr->ended_seen = true; /* nothing more will happen to it */
            }
        } else if (strcmp(ev->request_id, jr->j.kill_request_id) == 0) {
            jr->ended_seen = true; /* already ended: the kill has nothing to do */
            if (!jr->end_seq)
                jr->end_seq = ev->seq;
        } else {
            task_rt *t = find_task(jr, "", ev->request_id);
            if (t && !t->status) {
                t->status = 2;
                t->outcome_seq = ev->seq;
                snprintf(t->code, sizeof t->code, "%s", code);
                snprintf(t->message, sizeof t->message, "rejected: %s", data_str(data, "message"));
            }
        }
    } else if (strncmp(type, "sandbox.task.", 13) == 0) {
        task_rt *t = find_task(jr, ev->task_id, "");
        /* Output is taken even after the task's outcome: a catch-up re-reads the
         * chunks that came before a completion this run saw first; offsets dedupe. */
        if (t && (!t->status || strcmp(type, "sandbox.task.output") == 0)) {
            if (strcmp(type, "sandbox.task.output") == 0 && b->wait) {
                const char *stream = data_str(data, "stream");
                int si = strcmp(stream, "stdout") == 0 ? 0 : strcmp(stream, "stderr") == 0 ? 1 : -1;
                const json_t *off = json_object_get(data, "offset");
                const char *text = data_str(data, "data");
                size_t len = strlen(text);
                char *decoded = NULL;
                if (!len && *data_str(data, "dataB64")) {
                    const char *b64 = data_str(data, "dataB64");
                    decoded = malloc(strlen(b64) + 1);
                    long n = decoded ? sq_b64_decode(b64, strlen(b64), (unsigned char *)decoded) : -1;
                    text = decoded;
                    len = n > 0 ? (size_t)n : 0;
                }
                if (si >= 0 && json_is_integer(off) && text) {
                    uint64_t o = (uint64_t)json_integer_value(off);
                    if (o <= t->next[si] && o + len > t->next[si]) {
                        size_t skip = (size_t)(t->next[si] - o);
                        sb_append(&t->out[si], text + skip, len - skip);
                        t->next[si] = o + len;
                    }
                }
                free(decoded);
            } else if (strcmp(type, "sandbox.task.completed") == 0) {
                t->status = 1;
                t->outcome_seq = ev->seq;
                const json_t *ec = json_object_get(data, "exitCode");
                t->exit_code = json_is_integer(ec) ? (int)json_integer_value(ec) : -1;
                json_t *res = json_object_get(data, "result");
                if (res && b->wait)
                    t->result = json_incref(res);
            } else if (strcmp(type, "sandbox.task.failed") == 0) {
                t->status = 2;
                t->outcome_seq = ev->seq;
                snprintf(t->code, sizeof t->code, "%s", data_str(data, "code"));
                snprintf(t->message, sizeof t->message, "%s", data_str(data, "message"));
            }
        }
    }
    json_decref(data);
}

/* A job whose create was acknowledged but whose sandbox's first event (seq 1) does not
 * arrive, although this run's subscription started before the create — or whose
 * sandbox's history keeps a hole: its requests were duplicates of an earlier run's
 * (same ids) whose events this run's subscription started too late to see (the output
 * file was removed, or another output path was given). The worker answers each
 * duplicate with that request's stored events, which usually fills the history in;
 * events no request of the job caused (a timeout) are not replayed, and an old worker
 * replays nothing. So after a while, read that sandbox's own partition from its
 * creation (createdAt from Redis when reachable, else the partition's start) up to
 * now, and learn its state from there (events already applied are dropped). */
#define CATCH_UP_AFTER_MS 3000
static bool needs_catch_up(const job_rt *jr, int64_t now)
{
    if (jr->phase != JOB_STARTED || jr->j.raw || !jr->submitted || jr->caught_up)
        return false;
    if (!jr->seen_first)
        return now - jr->started_ms > CATCH_UP_AFTER_MS;
    return jr->gap_since && now - jr->gap_since > CATCH_UP_AFTER_MS;
}

/* Whether every event of the job's sandbox up to the one that decides it (its end;
 * with keep, its last task's outcome) has been applied: only then do its task
 * results hold all their output. Events arrive in seq order except replays and
 * re-reads, so the prefix of applied seqs says it — or a catch-up that read the
 * sandbox's partition from its creation. */
static bool history_whole(const job_rt *jr)
{
    if (jr->caught_up)
        return true;
    int64_t need = 0;
    if (jr->j.keep) {
        for (size_t i = 0; i < jr->j.ntasks; i++)
            if (jr->t[i].outcome_seq > need)
                need = jr->t[i].outcome_seq;
    } else {
        if (!jr->end_seq)
            return false;
        need = jr->end_seq;
    }
    return sqp_seqset_prefix(&jr->seen) >= need;
}

/* Every job that needs it, in one pass: one subscription on all partitions from the
 * earliest creation among them, read up to the present. */
static void catch_up(batch *b, size_t started, int64_t now)
{
    int64_t since = -1;
    size_t n = 0;
    for (size_t i = 0; i < started; i++) {
        job_rt *jr = &b->jobs[i];
        if (!needs_catch_up(jr, now))
            continue;
        sandq_sandbox_info info;
        sandq_error err;
        sandq_code rc = sandq_get(b->c, jr->j.sandbox_id, &info, &err);
        if (rc == SANDQ_E_SANDBOX_NOT_FOUND) {
            jr->started_ms = now; /* not created yet (a backlog): look again later */
            continue;
        }
        jr->caught_up = true;
        int64_t t = rc == SANDQ_OK && info.created_at > 0 ? info.created_at - REPLAY_SLACK_MS : 0;
        if (since < 0 || t < since)
            since = t;
        n++;
    }
    if (!n)
        return;
    sandq_sub_t *sub;
    sandq_error err;
    if (sandq_events_open_since(b->c, NULL, since < 0 ? 0 : since, &sub, &err)) {
        fprintf(stderr, "sandq: batch submit: catching up on %zu jobs: %s\n", n, err.message);
        return;
    }
    int64_t give_up = sq_mono_ms() + 60000;
    sandq_event ev;
    while (!sandq_events_caught_up(sub) && sq_mono_ms() < give_up && !cli_interrupted)
        if (sandq_events_next(sub, 100, &ev, &err) == SANDQ_OK)
            on_event(b, &ev);
    sandq_events_close(sub);
}

/* Send the create again under attempt k+1's id: the same envelope with the
 * requestId (same length: "req_" + 26) replaced. */
static void retry_create(batch *b, job_rt *jr)
{
    char next[SQ_ID_MAX];
    create_attempt_id(jr, jr->create_attempt + 1, next);
    char *at = strstr(jr->msgs[0], jr->create_req_cur);
    if (!at || strlen(next) != strlen(jr->create_req_cur))
        return;
    memcpy(at, next, strlen(next));
    jr->create_attempt++;
    snprintf(jr->create_req_cur, sizeof jr->create_req_cur, "%s", next);
    publish(b, jr, 0, false, false);
}

/* Act on what a started line's facts allow now. */
static void advance(batch *b, job_rt *jr, int64_t now)
{
    if (jr->phase != JOB_STARTED)
        return;
    if (jr->j.raw) {
        if (jr->failed || (b->wait ? jr->raw_answered : jr->submitted) ||
            (b->wait && jr->submitted && strcmp(jr->j.raw_type, "sandbox.setTimeout") == 0))
            finish(b, jr);
        else if (now - jr->started_ms > b->job_timeout_ms) {
            job_fail(jr, "wait_timeout", "no answer within --job-timeout");
            finish(b, jr);
        }
        return;
    }
    if (jr->retry_at && now >= jr->retry_at) {
        jr->retry_at = 0;
        if (!jr->seen_first && !jr->ready_seen && !jr->failed)
            retry_create(b, jr);
    }
    if (jr->ready_seen && !jr->tasks_sent && !jr->failed && jr->acks_pending == 0)
        send_tasks(b, jr);
    if (jr->ended_seen && jr->live) {
        jr->live = false;
        b->live--;
    }
    bool all_tasks = true;
    for (size_t i = 0; i < jr->j.ntasks; i++)
        if (!jr->t[i].status)
            all_tasks = false;
    if (jr->failed && jr->acks_pending == 0 && (jr->ended_seen || !jr->submitted || !b->wait)) {
        finish(b, jr);
        return;
    }
    if (b->wait) {
        /* "ended" means "its tasks are done" only if we saw its whole history: a run
         * whose subscription began in the middle of an earlier run's events (a lost
         * results file) may see just the end of it — a task's completion without the
         * output before it — and replays of its duplicated requests may bring the
         * beginning (seq 1) after that end: wait until the seqs up to the end are all
         * applied (or a catch-up read them). */
        bool whole = history_whole(jr);
        bool done = jr->j.keep ? all_tasks && jr->tasks_sent && whole : jr->ended_seen && whole;
        if (done && jr->acks_pending == 0) {
            finish(b, jr);
            return;
        }
    } else if (jr->tasks_sent && jr->last_acked && jr->acks_pending == 0) {
        finish(b, jr);
        return;
    }
    if (now - jr->started_ms > b->job_timeout_ms && !jr->failed) {
        job_fail(jr, "wait_timeout", jr->ready_seen ? "the job did not finish within --job-timeout"
                                                    : "the sandbox was not ready within --job-timeout");
        if (!jr->j.keep && !jr->ended_seen) /* best effort: end the sandbox so it does not linger */
            publish(b, jr, jr->nmsgs - 1, false, true);
        jr->ended_seen = true;
    }
}

/* ---- resume ---- */

/* Lines recorded by an earlier run: with --wait those with a final status, without it
 * every recorded line. A line whose sandbox id differs (the file changed) is redone. */
static void load_previous(batch *b, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *o = json_loadb(line, (size_t)n, 0, NULL);
        const json_t *ln = json_object_get(o, "line");
        const char *st = data_str(o, "status");
        const char *sbx = data_str(o, "sandboxId");
        bool final = strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0;
        if (json_is_integer(ln) && (final || !b->wait)) {
            for (size_t i = 0; i < b->njobs; i++) {
                job_rt *jr = &b->jobs[i];
                if (jr->j.line == (uint64_t)json_integer_value(ln) && strcmp(jr->j.sandbox_id, sbx) == 0 &&
                    !jr->skip) {
                    jr->skip = true;
                    jr->phase = JOB_FINISHED;
                    b->skipped++;
                    break;
                }
            }
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
}

/* The first run's start time, kept in <output>.state; written if absent. */
static int64_t replay_since(const char *state_path, bool *resumed)
{
    *resumed = false;
    FILE *f = fopen(state_path, "r");
    if (f) {
        json_t *o = json_loadf(f, 0, NULL);
        fclose(f);
        const json_t *v = json_object_get(o, "startedAt");
        int64_t t = json_is_integer(v) ? json_integer_value(v) : -1;
        json_decref(o);
        if (t > 0) {
            *resumed = true;
            return t - REPLAY_SLACK_MS;
        }
    }
    int64_t now = sq_now_ms();
    f = fopen(state_path, "w");
    if (f) {
        fprintf(f, "{\"startedAt\":%lld}\n", (long long)now);
        fclose(f);
    }
    return now - 1000;
}

/* ---- progress ---- */

static void progress(batch *b, bool tty, bool final, int64_t *last_print)
{
    int64_t now = sq_mono_ms();
    int64_t every = tty ? 200 : 2000;
    if (!final && now - *last_print < every)
        return;
    *last_print = now;
    sqp_progress p = {.total = b->total - b->skipped,
                      .submitted = b->submitted,
                      .running = b->live,
                      .succeeded = b->succeeded,
                      .failed = b->failed,
                      .elapsed_ms = now - b->t0,
                      .waiting = b->wait};
    double secs = (double)(now - b->t0) / 1000.0;
    uint64_t units = b->wait ? b->succeeded + b->failed : b->submitted;
    p.rate = secs > 0 ? (double)units / secs : 0;
    if (b->wait)
        p.succeeded += 0;
    char line[512];
    if (tty) {
        sqp_progress_bar(&p, 30, line, sizeof line);
        fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    } else {
        sqp_progress_line(&p, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

/* ---- the command ---- */

static int push_msg(job_rt *jr, json_t *env)
{
    char *m = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!m)
        return -1;
    jr->msgs[jr->nmsgs++] = m;
    return 0;
}

static int build_messages(batch *b, job_rt *jr, const char *tenant)
{
    jr->msgs = calloc(jr->j.ntasks + 2, sizeof *jr->msgs);
    jr->ctx = calloc(jr->j.ntasks + 2, sizeof *jr->ctx);
    if (!jr->msgs || !jr->ctx)
        return -1;
    if (jr->j.raw)
        return push_msg(jr, json_incref(jr->j.raw_env));
    json_t *body = json_deep_copy(jr->j.create_body);
    if (b->region && *b->region && !json_object_get(body, "region"))
        json_object_set_new(body, "region", json_string(b->region));
    const json_t *r = json_object_get(body, "region");
    snprintf(jr->region, sizeof jr->region, "%s", json_is_string(r) ? json_string_value(r) : "");
    if (push_msg(jr, sqp_envelope("sandbox.create", jr->j.create_request_id, jr->j.sandbox_id, NULL, tenant, NULL,
                                  job_metadata(jr), body)) < 0)
        return -1;
    for (size_t i = 0; i < jr->j.ntasks; i++) {
        const sqp_batch_task *t = &jr->j.tasks[i];
        if (push_msg(jr, sqp_envelope(t->type, t->request_id, jr->j.sandbox_id, t->task_id, tenant, NULL,
                                      job_metadata(jr), json_deep_copy(t->body))) < 0)
            return -1;
    }
    /* inOrder: the kill takes its turn behind the job's tasks (a plain kill
     * would stop the running one at once). */
    if (!jr->j.keep)
        return push_msg(jr, sqp_envelope("sandbox.kill", jr->j.kill_request_id, jr->j.sandbox_id, NULL, tenant, NULL,
                                         job_metadata(jr), json_pack("{s:b}", "inOrder", 1)));
    return 0;
}

static int read_jobs(batch *b, const char *path, const char *salt, const char *tenant)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return cli_io_fail("batch submit", false, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, jcap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (b->njobs == jcap) {
            jcap = jcap ? jcap * 2 : 1024;
            job_rt *v = realloc(b->jobs, jcap * sizeof *v);
            if (!v) {
                rc = cli_io_fail("batch submit", false, "out of memory");
                break;
            }
            b->jobs = v;
        }
        job_rt *jr = &b->jobs[b->njobs];
        memset(jr, 0, sizeof *jr);
        char errbuf[256];
        sqp_line_kind k = sqp_batch_parse_line(line, len, lineno, salt, tenant, &jr->j, errbuf, sizeof errbuf);
        if (k == SQP_LINE_SKIP)
            continue;
        if (k == SQP_LINE_ERROR) {
            fprintf(stderr, "sandq: batch submit: %s:%llu: %s\n", path, (unsigned long long)lineno, errbuf);
            rc = CLI_EXIT_USAGE;
            continue; /* report every bad line, send nothing */
        }
        jr->t = calloc(jr->j.ntasks ? jr->j.ntasks : 1, sizeof *jr->t);
        if (!jr->t || build_messages(b, jr, tenant) < 0) {
            rc = cli_io_fail("batch submit", false, "out of memory");
            break;
        }
        /* the serialized requests are all that is sent: drop the parsed JSON */
        json_decref(jr->j.raw_env);
        json_decref(jr->j.create_body);
        json_decref(jr->j.metadata);
        jr->j.raw_env = jr->j.create_body = jr->j.metadata = NULL;
        for (size_t t = 0; t < jr->j.ntasks; t++) {
            json_decref(jr->j.tasks[t].body);
            jr->j.tasks[t].body = NULL;
        }
        b->njobs++;
        sandq_error cerr;
        for (size_t m = 0; m < jr->nmsgs; m++) {
            if (sandq_check_request(jr->msgs[m], strlen(jr->msgs[m]), &cerr) == SANDQ_OK)
                continue;
            fprintf(stderr, "sandq: batch submit: %s:%llu: %s: %s%s%s%s\n", path, (unsigned long long)lineno,
                    sandq_code_name(cerr.code), cerr.message, cerr.field[0] ? " (field " : "", cerr.field,
                    cerr.field[0] ? ")" : "");
            rc = CLI_EXIT_USAGE;
            break;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static void free_jobs(batch *b)
{
    for (size_t i = 0; i < b->njobs; i++) {
        job_rt *jr = &b->jobs[i];
        for (size_t t = 0; t < jr->j.ntasks; t++) {
            json_decref(jr->t[t].result);
            free(jr->t[t].out[0].p);
            free(jr->t[t].out[1].p);
        }
        free(jr->t);
        sqp_seqset_clear(&jr->seen);
        for (size_t m = 0; m < jr->nmsgs; m++)
            free(jr->msgs[m]);
        free(jr->msgs);
        free(jr->ctx);
        sqp_batch_job_free(&jr->j);
    }
    free(b->jobs);
    free(b->by_sbx);
    free(b->by_req);
}

int cmd_batch(int argc, char **argv)
{
    const char *cmd = "batch submit";
    double rate = 0, d;
    int64_t job_timeout_ms = 10 * 60 * 1000;
    size_t max_live = 50;
    bool wait = false, json = false;
    const char *output = NULL, *salt = "", *region = NULL;
    int linger = 20;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (ch) {
        case O_RATE:
            if (sqp_parse_rate(optarg, &rate) < 0)
                return cli_usage(cmd, "bad --rate value \"%s\": expected N/s, N/m or N", optarg);
            break;
        case O_MAX:
            if (cli_number(cmd, "max-sandboxes", optarg, 0, 1e7, &d) < 0)
                return CLI_EXIT_USAGE;
            max_live = (size_t)d;
            break;
        case O_WAIT: wait = true; break;
        case 'o': output = optarg; break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "job-timeout", optarg, &job_timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_SALT: salt = optarg; break;
        case O_REGION: region = optarg; break;
        case O_LINGER:
            if (cli_number(cmd, "linger-ms", optarg, 0, 5000, &d) < 0)
                return CLI_EXIT_USAGE;
            linger = (int)d;
            break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind >= argc || strcmp(argv[optind], "submit") != 0)
        return cli_usage("batch", optind >= argc ? "missing subcommand: submit"
                                                 : "unknown subcommand: expected submit");
    if (argc - optind != 2)
        return cli_usage(cmd, argc - optind < 2 ? "missing the jobs file (JSONL)" : "too many arguments");
    const char *path = argv[optind + 1];
    if (region && !sq_region_valid(region))
        return cli_usage(cmd, "bad --region value \"%s\": expected three lowercase letters", region);

    sq_env_load_stack_file();
    const char *tenant_env = getenv("SANDQ_TENANT");
    batch b = {.wait = wait, .job_timeout_ms = job_timeout_ms, .max_live = max_live, .region = region};
    int rc = read_jobs(&b, path, salt, tenant_env && *tenant_env ? tenant_env : "default");
    if (rc) {
        free_jobs(&b);
        return rc;
    }
    b.total = b.njobs;
    b.tcap = 16;
    while (b.tcap < b.njobs * 2 + 2)
        b.tcap *= 2;
    b.by_sbx = calloc(b.tcap, sizeof *b.by_sbx);
    b.by_req = calloc(b.tcap, sizeof *b.by_req);
    if (!b.by_sbx || !b.by_req) {
        free_jobs(&b);
        return cli_io_fail(cmd, json, "out of memory");
    }
    bool any_job = false;
    for (size_t i = 0; i < b.njobs; i++) {
        if (b.jobs[i].j.raw) {
            table_put(&b, b.by_req, b.jobs[i].j.raw_request_id, i);
        } else {
            table_put(&b, b.by_sbx, b.jobs[i].j.sandbox_id, i);
            any_job = true;
        }
    }

    char out_default[4096];
    if (!output) {
        snprintf(out_default, sizeof out_default, "%s.results.jsonl", strcmp(path, "-") == 0 ? "batch" : path);
        output = out_default;
    }
    char state_path[4200];
    snprintf(state_path, sizeof state_path, "%s.state", output);
    load_previous(&b, output);
    bool resumed;
    int64_t since = replay_since(state_path, &resumed);
    b.out = fopen(output, "a");
    if (!b.out) {
        free_jobs(&b);
        return cli_io_fail(cmd, json, "%s: %s", output, strerror(errno));
    }
    b.out_path = output;

    sandq_client_opts co = {.client_id = "sandq-batch", .linger_ms = linger, .region = region};
    sandq_error err;
    b.c = sandq_client_new(&co, &err);
    if (!b.c) {
        fclose(b.out);
        free_jobs(&b);
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    }
    /* One consumer for every sandbox of the file, opened before the first request. */
    if (any_job || wait) {
        if (sandq_events_open_since(b.c, NULL, since, &b.sub, &err)) {
            rc = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
            goto done;
        }
    }
    if (resumed && b.skipped)
        fprintf(stderr, "sandq: batch submit: resuming: %llu of %llu lines already done (%s)\n",
                (unsigned long long)b.skipped, (unsigned long long)b.total, output);

    cli_catch_interrupts();
    bool tty = isatty(STDERR_FILENO) == 1;
    sqp_rate rl;
    b.t0 = sq_mono_ms();
    sqp_rate_init(&rl, rate, b.t0);
    int64_t last_print = b.t0, last_scan = b.t0;
    size_t next = 0;
    b.finished = b.skipped;
    while (b.finished < b.total && !cli_interrupted) {
        int64_t now = sq_mono_ms();
        /* start lines */
        while (next < b.njobs) {
            job_rt *jr = &b.jobs[next];
            if (jr->skip) {
                next++;
                continue;
            }
            if (!jr->j.raw && b.max_live && b.live >= b.max_live)
                break;
            if (!sqp_rate_take(&rl, now))
                break;
            start_line(&b, jr);
            next++;
        }
        sandq_poll(b.c, 0);
        /* events */
        int handled = 0;
        if (b.sub) {
            sandq_event ev;
            sandq_error eerr;
            while (handled < DRAIN_MAX && sandq_events_next(b.sub, handled ? 0 : 20, &ev, &eerr) == SANDQ_OK) {
                on_event(&b, &ev);
                job_rt *jr = table_get(&b, b.by_sbx, ev.sandbox_id, false);
                if (jr)
                    advance(&b, jr, now);
                job_rt *raw = table_get(&b, b.by_req, ev.request_id, true);
                if (raw)
                    advance(&b, raw, now);
                handled++;
            }
        } else {
            sandq_poll(b.c, 20);
        }
        /* acknowledgements, timeouts: a scan of the started lines, a few times a second */
        if (now - last_scan >= 100 || !b.sub) {
            last_scan = now;
            fflush(b.out);
            if (b.sub)
                catch_up(&b, next, now);
            for (size_t i = 0; i < next; i++)
                advance(&b, &b.jobs[i], now);
        }
        if (!b.sub || next < b.njobs) {
            int64_t w = sqp_rate_wait_ms(&rl, sq_mono_ms());
            if (w > 0 && !handled)
                sandq_poll(b.c, (int)(w < 20 ? w : 20));
        }
        progress(&b, tty, false, &last_print);
    }
    /* every published request acknowledged (or failed) before we say anything */
    sandq_error ferr;
    if (sandq_flush(b.c, 30000, &ferr))
        fprintf(stderr, "sandq: batch submit: %s\n", ferr.message);
    sandq_poll(b.c, 0);
    for (size_t i = 0; i < next; i++)
        advance(&b, &b.jobs[i], sq_mono_ms());
    progress(&b, tty, true, &last_print);
    int64_t elapsed = sq_mono_ms() - b.t0;
    if (cli_interrupted) {
        fprintf(stderr,
                "sandq: batch submit: interrupted: %llu of %llu lines done; run the same command again to resume\n",
                (unsigned long long)b.finished, (unsigned long long)b.total);
        rc = CLI_EXIT_INTERRUPTED;
    } else {
        rc = b.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    if (json) {
        cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:b}", "total", (json_int_t)b.total,
                                 "skipped", (json_int_t)b.skipped, "submitted", (json_int_t)b.submitted, "succeeded",
                                 (json_int_t)b.succeeded, "failed", (json_int_t)b.failed, "finished",
                                 (json_int_t)b.finished, "elapsedMs", (json_int_t)elapsed, "submitRate",
                                 elapsed > 0 ? (double)b.submitted * 1000.0 / (double)elapsed : 0.0, "output",
                                 output, "interrupted", cli_interrupted ? 1 : 0));
    } else {
        char el[32];
        printf("%llu lines: %llu submitted, %llu succeeded, %llu failed, %llu skipped (already done) in %s; "
               "results in %s\n",
               (unsigned long long)b.total, (unsigned long long)b.submitted, (unsigned long long)b.succeeded,
               (unsigned long long)b.failed, (unsigned long long)b.skipped,
               sqp_format_duration(elapsed, el, sizeof el), output);
    }
done:
    sandq_events_close(b.sub);
    sandq_client_free(b.c);
    if (b.out)
        fclose(b.out);
    free_jobs(&b);
    return rc;
}
