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
 * Rounds alternate writer and COPY (single runs on a shared machine vary a
 * lot); medians are compared.
 *
 * usage: history_rate [ROWS=20000] [ROUNDS=5]
 *        env: SANDQ_DATABASE_URL of a running, migrated stack
 *        (set -a; . $SANDQ_STACK_DIR/env; set +a) */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job.h"
#include "sq/codec.h"
#include "sq/event.h"
#include "sq/log.h"
#include "store/pg_store.h"
#include "store/writer.h"

#define EVENTS_PER_JOB 8
#define QUEUE_MAX 10000

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
    snprintf(sql, sizeof sql,
             "CREATE SCHEMA %1$s;"
             "CREATE TABLE %1$s.events (LIKE public.events INCLUDING ALL);"
             "CREATE TABLE %1$s.webhook_endpoints (LIKE public.webhook_endpoints INCLUDING ALL);"
             "CREATE TABLE %1$s.webhook_deliveries (LIKE public.webhook_deliveries INCLUDING ALL)",
             schema);
    exec_ok(pg, sql);
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
    }
    sq_err err;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (i % EVENTS_PER_JOB == 0)
            sq_job_set_current(&jobs[i / EVENTS_PER_JOB]);
        sq_pg_event_append(w, ev[i], &err);
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

/* Rows/s of one COPY of the same envelopes into the same table, committed. */
static double copy_round(PGconn *pg, const char *schema, json_t **ev, int n)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "COPY %s.events (event_id, sandbox_id, seq, type, task_id, request_id, tenant, worker_id, at, envelope) "
             "FROM STDIN",
             schema);
    double t0 = now_s();
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        die("COPY", pg);
    PQclear(r);
    size_t cap = 1 << 20, used = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < n; i++) {
        char *env = json_dumps(ev[i], JSON_COMPACT);
        size_t need = 2 * strlen(env) + 1024;
        if (used + need > cap) {
            if (PQputCopyData(pg, buf, (int)used) != 1)
                die("COPY data", pg);
            used = 0;
        }
        if (need > cap && !(buf = realloc(buf, cap = need)))
            abort();
        char seq[32], at[64], *p = buf + used;
        snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(ev[i], "seq")));
        int64_t ms = json_integer_value(json_object_get(ev[i], "at"));
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t k = strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(at + k, sizeof at - k, ".%03d+00", (int)(ms % 1000));
        put_field(&p, str(ev[i], "eventId"), false);
        put_field(&p, str(ev[i], "sandboxId"), false);
        put_field(&p, seq, false);
        put_field(&p, str(ev[i], "type"), false);
        put_field(&p, str(ev[i], "taskId"), false);
        put_field(&p, str(ev[i], "requestId"), false);
        put_field(&p, str(ev[i], "tenant"), false);
        put_field(&p, str(ev[i], "workerId"), false);
        put_field(&p, at, false);
        put_field(&p, env, true);
        used = (size_t)(p - buf);
        free(env);
    }
    if ((used && PQputCopyData(pg, buf, (int)used) != 1) || PQputCopyEnd(pg, NULL) != 1)
        die("COPY end", pg);
    free(buf);
    r = PQgetResult(pg);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("COPY result", pg);
    PQclear(r);
    while ((r = PQgetResult(pg)))
        PQclear(r);
    return n / (now_s() - t0);
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
    int n = argc > 1 ? atoi(argv[1]) : 20000, rounds = argc > 2 ? atoi(argv[2]) : 5;
    const char *db = getenv("SANDQ_DATABASE_URL");
    if (n <= 0 || rounds <= 0 || !db) {
        fprintf(stderr, "usage: history_rate [ROWS=20000] [ROUNDS=5]  (env: SANDQ_DATABASE_URL)\n");
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
    json_t **warm = make_events(200);
    writer_round(&w, warm, 200);
    free_events(warm, 200);
    warm = make_events(200);
    copy_round(copy, schema, warm, 200);
    free_events(warm, 200);

    double *wr = calloc((size_t)rounds, sizeof *wr), *cp = calloc((size_t)rounds, sizeof *cp);
    for (int r = 0; r < rounds; r++) {
        json_t **ev = make_events(n);
        wr[r] = writer_round(&w, ev, n);
        free_events(ev, n);
        ev = make_events(n);
        cp[r] = copy_round(copy, schema, ev, n);
        free_events(ev, n);
        printf("round %d: writer %.0f rows/s, COPY %.0f rows/s\n", r + 1, wr[r], cp[r]);
        fflush(stdout);
    }
    double mw = median(wr, rounds), mc = median(cp, rounds);
    printf("history writer (sq_pg_event_append -> writer.c, durable): %.0f events/s (median of %d x %d)\n", mw,
           rounds, n);
    printf("baseline, PostgreSQL COPY of the same rows:                %.0f events/s\n", mc);
    printf("ratio writer / COPY: %.2f\n", mw / mc);

    sq_writer_stop(w.writer, 10000);
    PQfinish(copy);
    /* Every row written, none twice: a fast figure for a lossy writer is no figure. */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.events", schema);
    PGresult *res = PQexec(admin, sql);
    long long rows = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1,
              want = 400 + 2LL * rounds * n;
    PQclear(res);
    if (rows != want)
        printf("ROWS MISSING: the scratch table has %lld events, %lld were written\n", rows, want);
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
    exec_ok(admin, sql);
    PQfinish(admin);
    free(wr);
    free(cp);
    return rows == want ? 0 : 1;
}
