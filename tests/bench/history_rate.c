/* history_rate.c — history write rate (issue 4's benchmark): event rows per
 * second the worker's history writer makes durable, against PostgreSQL COPY of
 * the same rows into the same table, measured in the same run. Prints both
 * rates and their ratio; asserts nothing (benchmarks are not tests).
 *
 * The writer side is the worker's own code, linked in: sq_pg_event_append
 * (pg_store.c: the same statement and parameters as every event the worker
 * emits) → sq_writer_exec → the writer thread (writer.c), with the per-job
 * delivery accounting of job.c — one job per 8 events, as a request that
 * emits a few events, and a row counts only once its job has seen it
 * committed. The enqueuing thread blocks on the bounded queue as an actor
 * would (queue of SANDQ_HISTORY_QUEUE's default, 10000).
 *
 * The baseline is one `COPY … FROM STDIN` (text format) of the same envelopes,
 * serialised the same way, committed, on its own connection.
 *
 * Both write into a scratch schema (sqbench_<pid>, dropped at the end) whose
 * events, webhook_endpoints and webhook_deliveries are copies of the real ones
 * (LIKE … INCLUDING ALL) with the real triggers of `events` re-created on it,
 * so every row pays for the same indexes, append-only guard and webhook outbox
 * trigger as in production, and nothing lands in the stack's real history.
 * Both sessions run with search_path=<scratch>,public so the trigger function
 * finds the scratch endpoints (none: the trigger looks and finds nothing).
 *
 * --mix: the statements of exec requests instead of bare events, as the
 * worker queues them (task.c, emit.c, job.c): task INSERT, task.queued,
 * sandbox → active (UPDATE + event), task UPDATE, task.started, 0-4 outputs,
 * task UPDATE, task.completed, sandbox → ready (UPDATE + event), requests
 * INSERT — 13 statements and 7 events a request on average, from 16 sandboxes
 * whose statements interleave at random (a busy worker's actors). UPDATEs
 * split the runs of events the writer can merge, so this is its realistic
 * case. Rates are requests/s; the COPY baseline writes the same requests'
 * final rows (tasks, events, requests: no UPDATE has a COPY equivalent).
 *
 * Rounds alternate writer and COPY (single runs on a shared machine vary a
 * lot); medians are compared.
 *
 * usage: history_rate [--mix] [N=20000 events | 3000 requests] [ROUNDS=5]
 *        env: SANDQ_DATABASE_URL of a running, migrated stack
 *        (set -a; . $SANDQ_STACK_DIR/env; set +a) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/job.h"
#include "sq/clock.h"
#include "sq/event.h"
#include "sq/log.h"
#include "store/pg_store.h"
#include "store/writer.h"

#define EVENTS_PER_JOB 8
#define QUEUE_MAX 10000

/* The worker dumps an event once and hands the text to the history row; so
 * does the bench, inside the measured loop. */
static void append_event(sq_worker *w, const json_t *ev, sq_err *err)
{
    char *text = json_dumps(ev, JSON_COMPACT);
    sq_pg_event_append(w, ev, text, err);
    free(text);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, PGconn *pg)
{
    fprintf(stderr, "history_rate: %s: %s\n", what, pg ? PQerrorMessage(pg) : "");
    exit(1);
}

static void exec_ok(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "history_rate: %s\n  -> %s", sql, PQresultErrorMessage(r));
        exit(1);
    }
    PQclear(r);
}

/* The scratch schema: copies of the tables an event insert touches, and the
 * real triggers of public.events re-created on the copy. */
static void scratch_create(PGconn *pg, const char *schema)
{
    char sql[1024];
    PGresult *r = PQexec(pg, "SELECT to_regclass('public.events') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || strcmp(PQgetvalue(r, 0, 0), "t") != 0)
        die("public.events missing: migrate first (scripts/stack up does)", NULL);
    PQclear(r);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    exec_ok(pg, sql);
    const char *tables[] = {"events", "webhook_endpoints", "webhook_deliveries", "sandboxes", "tasks", "requests"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        snprintf(sql, sizeof sql, "CREATE TABLE %1$s.%2$s (LIKE public.%2$s INCLUDING ALL)", schema, tables[i]);
        exec_ok(pg, sql);
    }
    snprintf(sql, sizeof sql,
             "SELECT regexp_replace(pg_get_triggerdef(oid), ' ON (public\\.)?events ', ' ON %s.events ') "
             "FROM pg_trigger WHERE tgrelid = 'public.events'::regclass AND NOT tgisinternal",
             schema);
    r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
        die("reading the triggers of public.events", pg);
    for (int i = 0; i < PQntuples(r); i++)
        exec_ok(pg, PQgetvalue(r, i, 0));
    PQclear(r);
}

/* Round r's envelopes: events of 64 sandboxes (fresh ids each round and side,
 * so (sandbox_id, seq) never collides), a task and a request per job, output
 * of a realistic size. */
static json_t **make_events(int n)
{
    enum { SANDBOXES = 64 };
    char sbx[SANDBOXES][SQ_ID_MAX], task[SQ_ID_MAX] = "", req[SQ_ID_MAX] = "", eid[SQ_ID_MAX];
    int64_t seq[SANDBOXES] = {0};
    for (int s = 0; s < SANDBOXES; s++)
        sq_id_new("sbx", sbx[s]);
    json_t **ev = calloc((size_t)n, sizeof *ev);
    if (!ev)
        abort();
    for (int i = 0; i < n; i++) {
        int s = (i / EVENTS_PER_JOB) % SANDBOXES;
        if (i % EVENTS_PER_JOB == 0) {
            sq_id_new("tsk", task);
            sq_id_new("req", req);
        }
        sq_id_new("evt", eid);
        sq_event_ctx ctx = {.sandbox_id = sbx[s], .task_id = task, .request_id = req, .worker_id = "bench-worker",
                            .region = "iad", .tenant = "bench"};
        json_t *data = json_pack("{s:s, s:s}", "stream", "stdout", "data",
                                 "line of output from a command in the sandbox, about a hundred bytes long: "
                                 "0123456789abcdef\n");
        ev[i] = sq_event_new(eid, "sandbox.task.output", &ctx, ++seq[s], sq_now_ms(), data);
    }
    return ev;
}

static void free_events(json_t **ev, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(ev[i]);
    free(ev);
}

/* Rows/s through the worker's writer, durable (every job settled). */
static double writer_round(sq_worker *w, json_t **ev, int n)
{
    int njobs = (n + EVENTS_PER_JOB - 1) / EVENTS_PER_JOB;
    sq_job *jobs = calloc((size_t)njobs, sizeof *jobs);
    if (!jobs)
        abort();
    for (int j = 0; j < njobs; j++) {
        pthread_mutex_init(&jobs[j].mu, NULL);
        pthread_cond_init(&jobs[j].cv, NULL);
        atomic_init(&jobs[j].refs, 1); /* this program is the owner: never released */
    }
    sq_err err;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (i % EVENTS_PER_JOB == 0)
            sq_job_set_current(&jobs[i / EVENTS_PER_JOB]);
        append_event(w, ev[i], &err);
    }
    sq_job_set_current(NULL);
    int failed = 0;
    for (int j = 0; j < njobs; j++) {
        pthread_mutex_lock(&jobs[j].mu);
        while (jobs[j].pending > 0)
            pthread_cond_wait(&jobs[j].cv, &jobs[j].mu);
        failed += jobs[j].failed_deliveries;
        pthread_mutex_unlock(&jobs[j].mu);
    }
    double dt = now_s() - t0;
    for (int j = 0; j < njobs; j++) {
        pthread_mutex_destroy(&jobs[j].mu);
        pthread_cond_destroy(&jobs[j].cv);
    }
    free(jobs);
    if (failed)
        fprintf(stderr, "history_rate: %d rows not written\n", failed);
    return n / dt;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static void put_field(char **p, const char *s, bool last)
{
    if (!s) {
        memcpy(*p, "\\N", 2);
        *p += 2;
    } else {
        for (; *s; s++) {
            char c = *s;
            if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
                *(*p)++ = '\\';
                c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
            }
            *(*p)++ = c;
        }
    }
    *(*p)++ = last ? '\n' : '\t';
}

static const char *str(const json_t *ev, const char *key)
{
    return json_string_value(json_object_get(ev, key));
}

/* One COPY … FROM STDIN in progress: rows are buffered and sent 1 MiB at a time. */
typedef struct copy_in {
    PGconn *pg;
    char *buf;
    size_t cap, used;
} copy_in;

static void copy_begin(copy_in *c, PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        die("COPY", pg);
    PQclear(r);
    *c = (copy_in){.pg = pg, .cap = 1 << 20, .buf = malloc(1 << 20)};
}

/* Room for a row of up to `bytes` unescaped bytes; returns where to write it. */
static char *copy_room(copy_in *c, size_t bytes)
{
    size_t need = 2 * bytes + 64;
    if (c->used + need > c->cap) {
        if (PQputCopyData(c->pg, c->buf, (int)c->used) != 1)
            die("COPY data", c->pg);
        c->used = 0;
    }
    if (need > c->cap && !(c->buf = realloc(c->buf, c->cap = need)))
        abort();
    return c->buf + c->used;
}

static void copy_end(copy_in *c)
{
    if ((c->used && PQputCopyData(c->pg, c->buf, (int)c->used) != 1) || PQputCopyEnd(c->pg, NULL) != 1)
        die("COPY end", c->pg);
    free(c->buf);
    PGresult *r = PQgetResult(c->pg);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("COPY result", c->pg);
    PQclear(r);
    while ((r = PQgetResult(c->pg)))
        PQclear(r);
}

/* A row of text fields (NULL = \N). */
static void copy_row(copy_in *c, const char *const *fields, int n)
{
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += (fields[i] ? strlen(fields[i]) : 2) + 1;
    char *p = copy_room(c, bytes);
    for (int i = 0; i < n; i++)
        put_field(&p, fields[i], i == n - 1);
    c->used = (size_t)(p - c->buf);
}

#define EVENT_COLUMNS "(event_id, sandbox_id, seq, type, task_id, request_id, tenant, worker_id, at, envelope)"

/* An envelope as its events row, serialised as pg_store.c does. */
static void copy_event(copy_in *c, const json_t *ev)
{
    char *env = json_dumps(ev, JSON_COMPACT);
    char seq[32], at[64];
    snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(ev, "seq")));
    int64_t ms = json_integer_value(json_object_get(ev, "at"));
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t k = strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(at + k, sizeof at - k, ".%03d+00", (int)(ms % 1000));
    const char *f[] = {str(ev, "eventId"), str(ev, "sandboxId"), seq, str(ev, "type"), str(ev, "taskId"),
                       str(ev, "requestId"), str(ev, "tenant"), str(ev, "workerId"), at, env};
    copy_row(c, f, 10);
    free(env);
}

/* Rows/s of one COPY of the same envelopes into the same table, committed. */
static double copy_round(PGconn *pg, const char *schema, json_t **ev, int n)
{
    char sql[256];
    snprintf(sql, sizeof sql, "COPY %s.events " EVENT_COLUMNS " FROM STDIN", schema);
    double t0 = now_s();
    copy_in c;
    copy_begin(&c, pg, sql);
    for (int i = 0; i < n; i++)
        copy_event(&c, ev[i]);
    copy_end(&c);
    return n / (now_s() - t0);
}

/* ---- --mix: exec requests, their statements interleaved across sandboxes ---- */

#define ACTORS 16

typedef struct mix_job {
    char task[SQ_ID_MAX], req[SQ_ID_MAX];
    int actor, outputs;
    json_t *ev[5 + 4];           /* queued, active, started, outputs…, completed, ready */
} mix_job;

typedef struct mix {
    char sbx[ACTORS][SQ_ID_MAX];
    mix_job *jobs;
    int n;
    long long events;
} mix;

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* n requests, request j on sandbox j % ACTORS; fresh ids each call. The
 * sandboxes' rows are written before the clock starts (their UPDATEs must
 * find them). */
static void mix_make(mix *m, int n, PGconn *pg, const char *schema)
{
    m->n = n;
    m->events = 0;
    m->jobs = calloc((size_t)n, sizeof *m->jobs);
    if (!m->jobs)
        abort();
    int64_t seq[ACTORS] = {0};
    char sql[512];
    for (int a = 0; a < ACTORS; a++) {
        sq_id_new("sbx", m->sbx[a]);
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.sandboxes (id, tenant, region, worker_id, state, create_request_id) "
                 "VALUES ('%s', 'bench', 'iad', 'bench-worker', 'ready', 'req_00000000000000000000000000')",
                 schema, m->sbx[a]);
        exec_ok(pg, sql);
    }
    for (int j = 0; j < n; j++) {
        mix_job *jb = &m->jobs[j];
        jb->actor = j % ACTORS;
        jb->outputs = (int)(rnd() % 5);
        sq_id_new("tsk", jb->task);
        sq_id_new("req", jb->req);
        const char *types[9] = {"sandbox.task.queued", "sandbox.active", "sandbox.task.started"};
        int ne = 3;
        for (int o = 0; o < jb->outputs; o++)
            types[ne++] = "sandbox.task.output";
        types[ne++] = "sandbox.task.completed";
        types[ne++] = "sandbox.ready";
        for (int e = 0; e < ne; e++) {
            char eid[SQ_ID_MAX];
            sq_id_new("evt", eid);
            bool task_event = strncmp(types[e], "sandbox.task.", 13) == 0;
            sq_event_ctx ctx = {.sandbox_id = m->sbx[jb->actor], .task_id = task_event ? jb->task : NULL,
                                .request_id = jb->req, .worker_id = "bench-worker", .region = "iad",
                                .tenant = "bench"};
            json_t *data = strcmp(types[e], "sandbox.task.output") == 0
                               ? json_pack("{s:s, s:s, s:i}", "stream", "stdout", "data",
                                           "line of output from a command in the sandbox\n", "offset", e * 46)
                               : json_pack("{s:s}", "kind", "exec");
            jb->ev[e] = sq_event_new(eid, types[e], &ctx, ++seq[jb->actor], sq_now_ms(), data);
        }
        m->events += ne;
    }
}

static void mix_free(mix *m)
{
    for (int j = 0; j < m->n; j++)
        for (int e = 0; e < 5 + m->jobs[j].outputs; e++)
            json_decref(m->jobs[j].ev[e]);
    free(m->jobs);
}

/* Statement `step` of request jb, through pg_store.c as the worker calls it;
 * false when the request has no such step (it is done). */
static bool mix_step(sq_worker *w, const mix *m, const mix_job *jb, int step)
{
    sq_err err;
    const char *sbx = m->sbx[jb->actor];
    int k = jb->outputs;
    if (step == 0) {
        sq_request req;
        memset(&req, 0, sizeof req);
        snprintf(req.request_id, sizeof req.request_id, "%s", jb->req);
        snprintf(req.type_name, sizeof req.type_name, "task.exec");
        json_t *summary = json_pack("{s:s, s:[s,s]}", "command", "python3", "args", "-c", "print(6*7)");
        sq_pg_task_insert(w, jb->task, sbx, &req, "exec", summary, &err);
        json_decref(summary);
    } else if (step == 1) {
        append_event(w, jb->ev[0], &err); /* task.queued */
    } else if (step == 2) {
        sq_pg_sandbox_state(w, sbx, SQ_STATE_ACTIVE, NULL, NULL, &err);
    } else if (step == 3 || step == 5) {
        append_event(w, jb->ev[step == 3 ? 1 : 2], &err); /* sandbox.active, task.started */
    } else if (step == 4) {
        sq_pg_task_started(w, jb->task, &err);
    } else if (step < 6 + k) {
        append_event(w, jb->ev[3 + step - 6], &err); /* output */
    } else if (step == 6 + k) {
        json_t *result = json_pack("{s:i}", "exitCode", 0);
        sq_pg_task_finished(w, jb->task, NULL, NULL, 0, result, 12, &err);
        json_decref(result);
    } else if (step == 7 + k) {
        append_event(w, jb->ev[3 + k], &err); /* task.completed */
    } else if (step == 8 + k) {
        sq_pg_sandbox_state(w, sbx, SQ_STATE_READY, NULL, NULL, &err);
    } else if (step == 9 + k) {
        append_event(w, jb->ev[4 + k], &err); /* sandbox.ready */
    } else if (step == 10 + k) {
        sq_pg_request_record(w, jb->req, sbx, "task.exec", "done", &err);
    } else {
        return false;
    }
    return true;
}

/* Requests/s through the writer: at each step a random sandbox queues the
 * next statement of its current request; a request counts once settled. */
static double mix_writer_round(sq_worker *w, const mix *m, long *statements)
{
    sq_job *jobs = calloc((size_t)m->n, sizeof *jobs);
    if (!jobs)
        abort();
    for (int j = 0; j < m->n; j++) {
        pthread_mutex_init(&jobs[j].mu, NULL);
        pthread_cond_init(&jobs[j].cv, NULL);
        atomic_init(&jobs[j].refs, 1); /* this program is the owner: never released */
    }
    int next[ACTORS], step[ACTORS], live = 0, alive[ACTORS];
    for (int a = 0; a < ACTORS; a++) {
        next[a] = a;
        step[a] = 0;
        if (a < m->n)
            alive[live++] = a;
    }
    *statements = 0;
    double t0 = now_s();
    while (live > 0) {
        int slot = (int)(rnd() % (uint32_t)live), a = alive[slot];
        const mix_job *jb = &m->jobs[next[a]];
        sq_job_set_current(&jobs[next[a]]);
        if (mix_step(w, m, jb, step[a])) {
            step[a]++;
            (*statements)++;
            continue;
        }
        step[a] = 0;
        next[a] += ACTORS;
        if (next[a] >= m->n)
            alive[slot] = alive[--live];
    }
    sq_job_set_current(NULL);
    for (int j = 0; j < m->n; j++) {
        pthread_mutex_lock(&jobs[j].mu);
        while (jobs[j].pending > 0)
            pthread_cond_wait(&jobs[j].cv, &jobs[j].mu);
        pthread_mutex_unlock(&jobs[j].mu);
    }
    double dt = now_s() - t0;
    for (int j = 0; j < m->n; j++) {
        pthread_mutex_destroy(&jobs[j].mu);
        pthread_cond_destroy(&jobs[j].cv);
    }
    free(jobs);
    return m->n / dt;
}

/* Requests/s of COPY writing the same requests' final rows, one transaction. */
static double mix_copy_round(PGconn *pg, const char *schema, const mix *m)
{
    char sql[256];
    double t0 = now_s();
    exec_ok(pg, "BEGIN");
    copy_in c;
    snprintf(sql, sizeof sql,
             "COPY %s.tasks (id, sandbox_id, request_id, kind, type, state, summary, exit_code, result, "
             "duration_ms, started_at, finished_at) FROM STDIN",
             schema);
    copy_begin(&c, pg, sql);
    char at[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S+00", &tm);
    for (int j = 0; j < m->n; j++) {
        const mix_job *jb = &m->jobs[j];
        json_t *summary = json_pack("{s:s, s:[s,s]}", "command", "python3", "args", "-c", "print(6*7)"),
               *result = json_pack("{s:i}", "exitCode", 0);
        char *sum = json_dumps(summary, JSON_COMPACT), *res = json_dumps(result, JSON_COMPACT);
        const char *f[] = {jb->task, m->sbx[jb->actor], jb->req, "exec", "task.exec", "completed", sum, "0", res,
                           "12", at, at};
        copy_row(&c, f, 12);
        free(sum);
        free(res);
        json_decref(summary);
        json_decref(result);
    }
    copy_end(&c);
    snprintf(sql, sizeof sql, "COPY %s.events " EVENT_COLUMNS " FROM STDIN", schema);
    copy_begin(&c, pg, sql);
    for (int j = 0; j < m->n; j++)
        for (int e = 0; e < 5 + m->jobs[j].outputs; e++)
            copy_event(&c, m->jobs[j].ev[e]);
    copy_end(&c);
    snprintf(sql, sizeof sql, "COPY %s.requests (request_id, sandbox_id, type, outcome) FROM STDIN", schema);
    copy_begin(&c, pg, sql);
    for (int j = 0; j < m->n; j++) {
        const char *f[] = {m->jobs[j].req, m->sbx[m->jobs[j].actor], "task.exec", "done"};
        copy_row(&c, f, 4);
    }
    copy_end(&c);
    exec_ok(pg, "COMMIT");
    return m->n / (now_s() - t0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    bool mixed = argc > 1 && strcmp(argv[1], "--mix") == 0;
    if (mixed) {
        argc--;
        argv++;
    }
    int n = argc > 1 ? atoi(argv[1]) : mixed ? 3000 : 20000, rounds = argc > 2 ? atoi(argv[2]) : 5;
    const char *db = getenv("SANDQ_DATABASE_URL");
    if (n <= 0 || rounds <= 0 || !db) {
        fprintf(stderr, "usage: history_rate [--mix] [N=20000 events | 3000 requests] [ROUNDS=5]  "
                        "(env: SANDQ_DATABASE_URL)\n");
        return 2;
    }
    sq_log_init("bench", "bench-worker", SQ_LOG_WARN);
    char schema[64], opts[128];
    snprintf(schema, sizeof schema, "sqbench_%d", (int)getpid());

    PGconn *admin = PQconnectdb(db);
    if (PQstatus(admin) != CONNECTION_OK)
        die("connect", admin);
    exec_ok(admin, "SET client_min_messages = warning");
    scratch_create(admin, schema);

    /* Every session opened from here on (the writer's, COPY's) sees the scratch tables first. */
    snprintf(opts, sizeof opts, "-c search_path=%s,public", schema);
    setenv("PGOPTIONS", opts, 1);
    sq_worker w;
    memset(&w, 0, sizeof w);
    w.cfg.conn.database_url = db;
    snprintf(w.cfg.worker_id, sizeof w.cfg.worker_id, "bench-worker");
    sq_err err;
    if (!(w.writer = sq_writer_start(&w, QUEUE_MAX, &err))) {
        fprintf(stderr, "history_rate: writer: %s\n", err.msg);
        return 1;
    }
    PGconn *copy = PQconnectdb(db);
    if (PQstatus(copy) != CONNECTION_OK)
        die("connect", copy);

    /* Warm-up: connections open, catalogs cached, plpgsql compiled on both. */
    long long want_events = 0, want_requests = 0;
    long statements = 0;
    if (mixed) {
        mix m;
        mix_make(&m, 100, admin, schema);
        mix_writer_round(&w, &m, &statements);
        want_events += m.events;
        mix_free(&m);
        mix_make(&m, 100, admin, schema);
        mix_copy_round(copy, schema, &m);
        want_events += m.events;
        mix_free(&m);
        want_requests += 200;
    } else {
        json_t **warm = make_events(200);
        writer_round(&w, warm, 200);
        free_events(warm, 200);
        warm = make_events(200);
        copy_round(copy, schema, warm, 200);
        free_events(warm, 200);
        want_events += 400;
    }

    double *wr = calloc((size_t)rounds, sizeof *wr), *cp = calloc((size_t)rounds, sizeof *cp),
           *st = calloc((size_t)rounds, sizeof *st);
    const char *unit = mixed ? "requests/s" : "events/s";
    for (int r = 0; r < rounds; r++) {
        if (mixed) {
            mix m;
            mix_make(&m, n, admin, schema);
            double t0 = now_s();
            wr[r] = mix_writer_round(&w, &m, &statements);
            st[r] = (double)statements / (now_s() - t0);
            want_events += m.events;
            mix_free(&m);
            mix_make(&m, n, admin, schema);
            cp[r] = mix_copy_round(copy, schema, &m);
            want_events += m.events;
            mix_free(&m);
            want_requests += 2LL * n;
            printf("round %d: writer %.0f %s (%.0f statements/s), COPY %.0f %s\n", r + 1, wr[r], unit, st[r],
                   cp[r], unit);
        } else {
            json_t **ev = make_events(n);
            wr[r] = writer_round(&w, ev, n);
            free_events(ev, n);
            ev = make_events(n);
            cp[r] = copy_round(copy, schema, ev, n);
            free_events(ev, n);
            want_events += 2LL * n;
            printf("round %d: writer %.0f %s, COPY %.0f %s\n", r + 1, wr[r], unit, cp[r], unit);
        }
        fflush(stdout);
    }
    double mw = median(wr, rounds), mc = median(cp, rounds);
    if (mixed)
        printf("history writer (pg_store.c -> writer.c, durable): %.0f requests/s, %.0f statements/s "
               "(median of %d x %d requests)\n",
               mw, median(st, rounds), rounds, n);
    else
        printf("history writer (sq_pg_event_append -> writer.c, durable): %.0f events/s (median of %d x %d)\n", mw,
               rounds, n);
    printf("baseline, PostgreSQL COPY of the same rows:                %.0f %s\n", mc, unit);
    printf("ratio writer / COPY: %.2f\n", mw / mc);

    sq_writer_stop(w.writer, 10000);
    PQfinish(copy);
    /* Every row written, none twice: a fast figure for a lossy writer is no figure. */
    char sql[256];
    bool complete = true;
    if (mixed) {
        /* A request and a task per request, every task completed after it
         * started (its UPDATEs ran after its INSERT), every event. */
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM %1$s.requests), (SELECT count(*) FROM %1$s.tasks), "
                 "(SELECT count(*) FROM %1$s.tasks WHERE state = 'completed' AND started_at IS NOT NULL), "
                 "(SELECT count(*) FROM %1$s.events)",
                 schema);
        PGresult *res = PQexec(admin, sql);
        complete = PQresultStatus(res) == PGRES_TUPLES_OK && atoll(PQgetvalue(res, 0, 0)) == want_requests &&
                   atoll(PQgetvalue(res, 0, 1)) == want_requests && atoll(PQgetvalue(res, 0, 2)) == want_requests &&
                   atoll(PQgetvalue(res, 0, 3)) == want_events;
        if (!complete)
            printf("ROWS MISSING: requests %s, tasks %s (completed %s), events %s; %lld requests, %lld events "
                   "written\n",
                   PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                   want_requests, want_events);
        PQclear(res);
    } else {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.events", schema);
        PGresult *res = PQexec(admin, sql);
        long long rows = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
        complete = rows == want_events;
        if (!complete)
            printf("ROWS MISSING: the scratch table has %lld events, %lld were written\n", rows, want_events);
        PQclear(res);
    }
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
    exec_ok(admin, sql);
    PQfinish(admin);
    free(wr);
    free(cp);
    free(st);
    return complete ? 0 : 1;
}
