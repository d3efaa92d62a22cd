/* writer.c — see writer.h. */
#include "writer.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../job.h"
#include "sq/codec.h"
#include "sq/log.h"

#define BATCH_MAX 512

typedef struct item {
    const char *sql;
    int n;
    char **params;
    sq_job *job;
    bool written;              /* committed one by one already (after a bad row) */
    struct item *next;
} item;

struct sq_writer {
    sq_worker *w;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    item *head, *tail;
    size_t len, max;
    bool stopping;
    int64_t stop_deadline;
    PGconn *pg;
    atomic_size_t depth;
};

static void item_free(item *it)
{
    for (int i = 0; i < it->n; i++)
        free(it->params[i]);
    free(it->params);
    free(it);
}

void sq_writer_exec(sq_writer *wr, const char *sql, int nparams, const char *const *params)
{
    item *it = calloc(1, sizeof *it);
    if (!it)
        abort(); /* cannot queue history: refusing to continue beats losing it silently */
    it->sql = sql;
    it->n = nparams;
    it->params = calloc((size_t)nparams + 1, sizeof *it->params);
    for (int i = 0; i < nparams; i++)
        it->params[i] = params[i] ? strdup(params[i]) : NULL;
    it->job = sq_job_current();
    if (it->job)
        sq_job_delivery_begin(it->job);
    pthread_mutex_lock(&wr->mu);
    while (wr->len >= wr->max && !wr->stopping)
        pthread_cond_wait(&wr->nonfull, &wr->mu);
    if (wr->tail)
        wr->tail->next = it;
    else
        wr->head = it;
    wr->tail = it;
    wr->len++;
    atomic_fetch_add(&wr->depth, 1);
    pthread_cond_signal(&wr->nonempty);
    pthread_mutex_unlock(&wr->mu);
}

size_t sq_writer_depth(sq_writer *wr) { return wr ? atomic_load(&wr->depth) : 0; }

static bool connect_pg(sq_writer *wr)
{
    if (wr->pg && PQstatus(wr->pg) == CONNECTION_OK)
        return true;
    if (wr->pg)
        PQfinish(wr->pg);
    wr->pg = PQconnectdb(wr->w->cfg.conn.database_url);
    if (PQstatus(wr->pg) != CONNECTION_OK) {
        sq_warn(NULL, "history writer: postgres unavailable: %s", PQerrorMessage(wr->pg));
        PQfinish(wr->pg);
        wr->pg = NULL;
        return false;
    }
    return true;
}

typedef enum { BATCH_OK, BATCH_CONN_LOST, BATCH_STATEMENT_FAILED } batch_result;

/* Only a row the database rejects on its merits (SQLSTATE class 22, data
 * exception, or 23, integrity constraint) can never succeed and may be set
 * aside. Anything else — an administrator shutdown (57P01), a lost
 * connection (08), a deadlock — is an outage: retry, never drop. */
static bool row_is_bad(const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

/* Send BEGIN, every statement, COMMIT in one pipeline and read the results. */
static batch_result run_batch(sq_writer *wr, item *first, int count)
{
    PGconn *pg = wr->pg;
    if (!PQenterPipelineMode(pg))
        return BATCH_CONN_LOST;
    bool sent = PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    item *it = first;
    for (int i = 0; sent && i < count; i++, it = it->next)
        sent = PQsendQueryParams(pg, it->sql, it->n, NULL, (const char *const *)it->params, NULL, NULL, 0);
    sent = sent && PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(pg);
    if (!sent) {
        PQexitPipelineMode(pg);
        return BATCH_CONN_LOST;
    }
    batch_result out = BATCH_OK;
    /* count+2 queries, each followed by a NULL, then the sync result. */
    for (int q = 0; q < count + 2; q++) {
        PGresult *r;
        while ((r = PQgetResult(pg)) != NULL) {
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_FATAL_ERROR && out == BATCH_OK) {
                out = PQstatus(pg) == CONNECTION_BAD || !row_is_bad(r) ? BATCH_CONN_LOST : BATCH_STATEMENT_FAILED;
                sq_warn(NULL, "history writer: %s", PQresultErrorMessage(r));
            } else if (st == PGRES_PIPELINE_ABORTED && out == BATCH_OK) {
                out = BATCH_STATEMENT_FAILED;
            }
            PQclear(r);
        }
        if (PQstatus(pg) == CONNECTION_BAD) {
            out = BATCH_CONN_LOST;
            break;
        }
    }
    PGresult *r;
    while ((r = PQgetResult(pg)) != NULL) { /* the PGRES_PIPELINE_SYNC */
        PQclear(r);
    }
    if (out != BATCH_CONN_LOST)
        PQexitPipelineMode(pg);
    if (out == BATCH_STATEMENT_FAILED)
        PQclear(PQexec(pg, "ROLLBACK"));
    return out;
}

/* A statement the database refuses (a bug, not an outage) would block the
 * queue forever; run the batch one statement per transaction instead and
 * report each refused row loudly. */
static batch_result run_one_by_one(sq_writer *wr, item *first, int count)
{
    item *it = first;
    for (int i = 0; i < count; i++, it = it->next) {
        if (it->written)
            continue;
        PGresult *r = PQexecParams(wr->pg, it->sql, it->n, NULL, (const char *const *)it->params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!row_is_bad(r)) {
                PQclear(r);
                return BATCH_CONN_LOST; /* an outage after all: retry what is left */
            }
            sq_error(NULL, "history writer: row refused by PostgreSQL (%s): %.200s", PQresultErrorMessage(r),
                     it->sql);
        }
        it->written = true; /* autocommitted (or refused for good): never again */
        PQclear(r);
    }
    return BATCH_OK;
}

static void *writer_main(void *arg)
{
    sq_writer *wr = arg;
    int backoff_ms = 100;
    for (;;) {
        pthread_mutex_lock(&wr->mu);
        while (!wr->head && !wr->stopping)
            pthread_cond_wait(&wr->nonempty, &wr->mu);
        if (!wr->head && wr->stopping) {
            pthread_mutex_unlock(&wr->mu);
            break;
        }
        item *first = wr->head;
        int count = 0;
        for (item *it = first; it && count < BATCH_MAX; it = it->next)
            count++;
        bool giving_up = wr->stopping && sq_mono_ms() > wr->stop_deadline;
        pthread_mutex_unlock(&wr->mu);

        batch_result res = BATCH_CONN_LOST;
        if (giving_up) {
            sq_error(NULL, "history writer: %zu statements not written at shutdown (postgres down); their "
                           "requests stay uncommitted in Kafka and will be redone",
                     wr->len);
        } else if (connect_pg(wr)) {
            res = run_batch(wr, first, count);
            if (res == BATCH_STATEMENT_FAILED)
                res = run_one_by_one(wr, first, count);
        }
        if (res == BATCH_CONN_LOST && !giving_up) {
            if (wr->pg)
                PQfinish(wr->pg);
            wr->pg = NULL;
            struct timespec ts = {.tv_sec = backoff_ms / 1000, .tv_nsec = (long)(backoff_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            backoff_ms = backoff_ms < 5000 ? backoff_ms * 2 : 10000;
            continue; /* the same batch again: nothing is dropped */
        }
        backoff_ms = 100;
        /* Committed (or given up at shutdown): settle and free the batch. */
        pthread_mutex_lock(&wr->mu);
        for (int i = 0; i < count; i++) {
            item *it = wr->head;
            wr->head = it->next;
            if (!wr->head)
                wr->tail = NULL;
            wr->len--;
            atomic_fetch_sub(&wr->depth, 1);
            if (it->job)
                sq_job_delivery_done(it->job, !giving_up);
            item_free(it);
        }
        pthread_cond_broadcast(&wr->nonfull);
        pthread_mutex_unlock(&wr->mu);
    }
    if (wr->pg)
        PQfinish(wr->pg);
    return NULL;
}

sq_writer *sq_writer_start(sq_worker *w, size_t queue_max, sq_err *err)
{
    sq_writer *wr = calloc(1, sizeof *wr);
    if (!wr) {
        sq_err_set(err, SQ_INTERNAL, "out of memory");
        return NULL;
    }
    wr->w = w;
    wr->max = queue_max ? queue_max : 10000;
    pthread_mutex_init(&wr->mu, NULL);
    pthread_cond_init(&wr->nonempty, NULL);
    pthread_cond_init(&wr->nonfull, NULL);
    if (pthread_create(&wr->thread, NULL, writer_main, wr) != 0) {
        sq_err_errno(err, "pthread_create");
        free(wr);
        return NULL;
    }
    return wr;
}

void sq_writer_stop(sq_writer *wr, int64_t deadline_ms)
{
    if (!wr)
        return;
    pthread_mutex_lock(&wr->mu);
    wr->stopping = true;
    wr->stop_deadline = sq_mono_ms() + deadline_ms;
    pthread_cond_broadcast(&wr->nonempty);
    pthread_cond_broadcast(&wr->nonfull);
    pthread_mutex_unlock(&wr->mu);
    pthread_join(wr->thread, NULL);
    free(wr);
}
