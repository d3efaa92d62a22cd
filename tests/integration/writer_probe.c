/* writer_probe.c — drives the worker's history writer (worker/src/store/
 * writer.c, linked in) with statements read from stdin, for
 * test_history_writer.py: what it writes must be exactly what the statements
 * one by one would have written, however the writer batches them.
 *
 * stdin: one JSON object per line, {"sql": S, "params": [string|null, …],
 * "job": K}. S is SQL text, or "@event", "@sandbox", "@task", "@request" for
 * the history's own INSERTs (worker/src/store/pg_sql.h). K (optional) is the
 * job the row counts against, as the worker's requests do (job.h).
 * Every line is queued as fast as the writer takes it, then the probe waits
 * until every job is settled and prints one line per job,
 * {"job": K, "failed": N} (N rows not written), and stops the writer.
 *
 * env: SANDQ_DATABASE_URL; PGOPTIONS may point the session at another schema. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/job.h"
#include "sq/log.h"
#include "store/pg_sql.h"
#include "store/writer.h"

#define JOBS_MAX 1024
#define TEXTS_MAX 64

/* The writer keeps `sql` pointers for the life of the queue and recognises a
 * statement by them, as it would the literals of pg_store.c: one copy per text. */
static char *texts[TEXTS_MAX];
static int ntexts;

static const char *intern(const char *sql)
{
    static const struct {
        const char *name, *sql;
    } named[] = {{"@event", SQ_SQL_EVENT_INSERT},
                 {"@sandbox", SQ_SQL_SANDBOX_INSERT},
                 {"@task", SQ_SQL_TASK_INSERT},
                 {"@request", SQ_SQL_REQUEST_INSERT}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (strcmp(sql, named[i].name) == 0)
            return named[i].sql;
    for (int i = 0; i < ntexts; i++)
        if (strcmp(texts[i], sql) == 0)
            return texts[i];
    if (ntexts == TEXTS_MAX || !(texts[ntexts] = strdup(sql))) {
        fprintf(stderr, "writer_probe: too many distinct statements\n");
        exit(2);
    }
    return texts[ntexts++];
}

int main(void)
{
    const char *db = getenv("SANDQ_DATABASE_URL");
    if (!db) {
        fprintf(stderr, "writer_probe: SANDQ_DATABASE_URL is not set\n");
        return 2;
    }
    sq_log_init("probe", "probe", SQ_LOG_WARN);
    static sq_job jobs[JOBS_MAX];
    bool used[JOBS_MAX] = {false};
    for (int j = 0; j < JOBS_MAX; j++) {
        pthread_mutex_init(&jobs[j].mu, NULL);
        pthread_cond_init(&jobs[j].cv, NULL);
        atomic_init(&jobs[j].refs, 1); /* this program is the owner: never released */
    }
    sq_worker w;
    memset(&w, 0, sizeof w);
    w.cfg.conn.database_url = db;
    snprintf(w.cfg.worker_id, sizeof w.cfg.worker_id, "probe");
    sq_err err;
    if (!(w.writer = sq_writer_start(&w, 10000, &err))) {
        fprintf(stderr, "writer_probe: %s\n", err.msg);
        return 1;
    }

    /* Parse everything first, so the statements reach the writer back to back. */
    json_t *lines = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        json_error_t jerr;
        json_t *o = json_loadb(line, (size_t)len, 0, &jerr);
        if (!json_is_object(o) || !json_is_string(json_object_get(o, "sql")) ||
            !json_is_array(json_object_get(o, "params"))) {
            fprintf(stderr, "writer_probe: bad line: %s", line);
            return 2;
        }
        json_array_append_new(lines, o);
    }
    free(line);

    size_t i;
    json_t *o;
    json_array_foreach(lines, i, o) {
        json_t *params = json_object_get(o, "params"), *job = json_object_get(o, "job");
        int n = (int)json_array_size(params);
        const char **p = calloc((size_t)n + 1, sizeof *p);
        for (int k = 0; k < n; k++)
            p[k] = json_string_value(json_array_get(params, (size_t)k)); /* null → SQL NULL */
        json_int_t k = json_integer_value(job);
        if (job && (k < 0 || k >= JOBS_MAX)) {
            fprintf(stderr, "writer_probe: job out of range\n");
            return 2;
        }
        if (job)
            used[k] = true;
        sq_job_set_current(job ? &jobs[k] : NULL);
        sq_writer_exec(w.writer, intern(json_string_value(json_object_get(o, "sql"))), n, p);
        free(p);
    }
    sq_job_set_current(NULL);

    for (int j = 0; j < JOBS_MAX; j++) {
        pthread_mutex_lock(&jobs[j].mu);
        while (jobs[j].pending > 0)
            pthread_cond_wait(&jobs[j].cv, &jobs[j].mu);
        int failed = jobs[j].failed_deliveries;
        pthread_mutex_unlock(&jobs[j].mu);
        if (used[j])
            printf("{\"job\": %d, \"failed\": %d}\n", j, failed);
        pthread_mutex_destroy(&jobs[j].mu);
        pthread_cond_destroy(&jobs[j].cv);
    }
    sq_writer_stop(w.writer, 5000);
    json_decref(lines);
    for (int t = 0; t < ntexts; t++)
        free(texts[t]);
    return 0;
}
