/* writer.c — see writer.h. */
#include "store/writer.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/job.h"
#include "store/batch_order.h"
#include "store/multirow.h"
#include "store/quarantine.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "util/backoff.h"

/* Statements per transaction. */
#define BATCH_MAX 512
/* Rows per multi-row INSERT (fewer when the 65535 parameters of one statement
 * run out first: multirow.h). tests/bench/history_rate measured 64-row
 * statements ahead of both shorter ones and whole-batch ones, whose parse and
 * plan grow faster than their row count. */
#define ROWS_MAX 64
/* Statements prepared per connection: each statement kind (about a dozen)
 * for one row and, for the INSERTs, for 2, 4, … ROWS_MAX rows. */
#define PREPARED_MAX 128

typedef struct item {
    const char *sql;
    int n;
    int rank;                  /* batch_order.h */
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
    /* Prepared statements of this connection: sq_history_<index>. */
    struct prepared {
        const char *sql;       /* the queued text (a literal: compared by address) */
        int nparams;           /* per row, as queued with it */
        int rows;              /* 1: the text itself; more: its multi-row form */
        bool ready, refused;
    } prepared[PREPARED_MAX];
    int nprepared;
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
    it->rank = sq_batch_rank(sql);
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
    wr->nprepared = 0; /* prepared statements die with their connection */
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

/* One statement of a batch: `rows` consecutive queued items from unwritten[first],
 * one multi-row INSERT when rows > 1. */
typedef struct stmt {
    int first, rows;
    sq_multirow shape;
    int prepared;              /* index in wr->prepared when sent as that statement, else -1 */
} stmt;

/* The prepared form of `sql` (`nparams` per row) for `rows` rows: its entry
 * (created when missing and there is room), else -1. */
static int prepared_slot(sq_writer *wr, const char *sql, int nparams, int rows)
{
    for (int i = 0; i < wr->nprepared; i++)
        if (wr->prepared[i].sql == sql && wr->prepared[i].nparams == nparams && wr->prepared[i].rows == rows)
            return i;
    if (wr->nprepared == PREPARED_MAX)
        return -1;
    wr->prepared[wr->nprepared] = (struct prepared){.sql = sql, .nparams = nparams, .rows = rows};
    return wr->nprepared++;
}

/* Prepare the statement of `st` on first use (outside the batch's transaction
 * and pipeline, so it counts as prepared only once PostgreSQL said so).
 * Returns false when the connection is lost. */
static bool prepare_stmt(sq_writer *wr, item **unwritten, stmt *st)
{
    const item *first = unwritten[st->first];
    int slot = prepared_slot(wr, first->sql, first->n, st->rows);
    if (slot < 0 || wr->prepared[slot].refused)
        return true;
    if (!wr->prepared[slot].ready) {
        char *built = st->rows > 1 ? sq_multirow_build(first->sql, &st->shape, st->rows) : NULL, name[32];
        if (st->rows > 1 && !built)
            return true;
        snprintf(name, sizeof name, "sq_history_%d", slot);
        PGresult *r = PQprepare(wr->pg, name, built ? built : first->sql, st->rows * first->n, NULL);
        free(built);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok && PQstatus(wr->pg) != CONNECTION_BAD)
            sq_warn(NULL, "history writer: cannot prepare a statement (it goes unprepared): %s",
                    PQresultErrorMessage(r));
        PQclear(r);
        if (PQstatus(wr->pg) == CONNECTION_BAD)
            return false;
        wr->prepared[slot].ready = ok;
        wr->prepared[slot].refused = !ok;
        if (!ok)
            return true;
    }
    st->prepared = slot;
    return true;
}

/* Cut the items into statements: each run of one INSERT into pieces of
 * ROWS_MAX, 32, 16, … 1 rows — sizes that repeat, so every statement sent is
 * one prepared once per connection and parsed and planned only then.
 * Returns the number of statements, or -1 when the connection is lost. */
static int plan_batch(sq_writer *wr, item **unwritten, int left, stmt *out)
{
    const char *sqls[BATCH_MAX];
    int ns[BATCH_MAX], nstmt = 0;
    for (int i = 0; i < left; i++) {
        sqls[i] = unwritten[i]->sql;
        ns[i] = unwritten[i]->n;
    }
    for (int i = 0; i < left; i += out[nstmt++].rows) {
        stmt *st = &out[nstmt];
        *st = (stmt){.first = i, .prepared = -1};
        int run = sq_multirow_run(sqls + i, ns + i, left - i, ROWS_MAX, &st->shape);
        st->rows = 1;
        while (st->rows * 2 <= run)
            st->rows *= 2;
        if (!prepare_stmt(wr, unwritten, st))
            return -1;
    }
    return nstmt;
}

/* Send one statement of the batch; returns how many queries that was. */
static int send_stmt(sq_writer *wr, item **unwritten, const stmt *st, bool *sent)
{
    item **rows = unwritten + st->first;
    char name[32];
    if (st->prepared >= 0)
        snprintf(name, sizeof name, "sq_history_%d", st->prepared);
    if (st->rows == 1) {
        const char *const *params = (const char *const *)rows[0]->params;
        *sent = st->prepared >= 0 ? PQsendQueryPrepared(wr->pg, name, rows[0]->n, params, NULL, NULL, 0)
                                  : PQsendQueryParams(wr->pg, rows[0]->sql, rows[0]->n, NULL, params, NULL, NULL, 0);
        return 1;
    }
    int n = st->shape.nparams;
    const char **params = malloc((size_t)st->rows * (size_t)n * sizeof *params);
    char *sql = params && st->prepared < 0 ? sq_multirow_build(rows[0]->sql, &st->shape, st->rows) : NULL;
    if (!params || (st->prepared < 0 && !sql)) {
        /* No memory for the merged form: the rows as queued, one by one. */
        free(params);
        int q = 0;
        for (int r = 0; r < st->rows && *sent; r++, q++)
            *sent = PQsendQueryParams(wr->pg, rows[r]->sql, n, NULL, (const char *const *)rows[r]->params, NULL,
                                      NULL, 0);
        return q;
    }
    for (int r = 0; r < st->rows; r++)
        memcpy(params + (size_t)r * (size_t)n, rows[r]->params, (size_t)n * sizeof *params);
    /* libpq copies the statement and the values into its output buffer here. */
    if (st->prepared >= 0)
        *sent = PQsendQueryPrepared(wr->pg, name, st->rows * n, params, NULL, NULL, 0);
    else
        *sent = PQsendQueryParams(wr->pg, sql, st->rows * n, NULL, params, NULL, NULL, 0);
    free(sql);
    free(params);
    return 1;
}

/* Send BEGIN, the batch's statements, COMMIT in one pipeline and read the
 * results.
 *
 * The batch is first put in the order of batch_order.h — kinds together,
 * and only where the order cannot matter — and then consecutive rows of one
 * INSERT go as multi-row statements (multirow.h): one execution (and one run
 * of the events' statement trigger) per run instead of one per row. Every
 * statement is a prepared one (plan_batch), so none is parsed again.
 *
 * Rows already committed one by one (an earlier attempt at this batch fell
 * back to that, then lost the connection) are not sent again. */
static batch_result run_batch(sq_writer *wr, item **batch, int count)
{
    PGconn *pg = wr->pg;
    item *unwritten[BATCH_MAX];
    stmt stmts[BATCH_MAX];
    item *queued[BATCH_MAX];
    int left = 0, ranks[BATCH_MAX] = {0}, order[BATCH_MAX];
    for (int i = 0; i < count; i++)
        if (!batch[i]->written) {
            queued[left] = batch[i];
            ranks[left++] = batch[i]->rank;
        }
    sq_batch_order(ranks, left, order);
    for (int i = 0; i < left; i++)
        unwritten[i] = queued[order[i]];
    int nstmt = plan_batch(wr, unwritten, left, stmts);
    if (nstmt < 0 || !PQenterPipelineMode(pg))
        return BATCH_CONN_LOST;
    int queries = 1;
    bool sent = PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (int i = 0; sent && i < nstmt; i++)
        queries += send_stmt(wr, unwritten, &stmts[i], &sent);
    sent = sent && PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(pg);
    queries++;
    if (!sent) {
        PQexitPipelineMode(pg);
        return BATCH_CONN_LOST;
    }
    batch_result out = BATCH_OK;
    /* Each query's results are followed by a NULL, then comes the sync result. */
    for (int q = 0; q < queries; q++) {
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
 * queue forever; run the batch one row per transaction instead — each queued
 * item on its own, not merged, so one bad row sinks nothing else — and keep
 * each refused row in history_quarantine (quarantine.h): set aside, never
 * dropped in silence. */
static batch_result run_one_by_one(sq_writer *wr, item **batch, int count)
{
    for (int i = 0; i < count; i++) {
        item *it = batch[i];
        if (it->written)
            continue;
        PGresult *r = PQexecParams(wr->pg, it->sql, it->n, NULL, (const char *const *)it->params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (!row_is_bad(r) || sq_quarantine_row(wr->pg, wr->w->cfg.worker_id, r, it->sql, it->n,
                                                    (const char *const *)it->params) == SQ_QUARANTINE_OUTAGE) {
                PQclear(r);
                return BATCH_CONN_LOST; /* an outage after all: retry what is left */
            }
        }
        it->written = true; /* autocommitted (or quarantined): never again */
        PQclear(r);
    }
    return BATCH_OK;
}

static void *writer_main(void *arg)
{
    sq_writer *wr = arg;
    sq_backoff wait = sq_backoff_make(100, 10000);
    for (;;) {
        pthread_mutex_lock(&wr->mu);
        while (!wr->head && !wr->stopping)
            pthread_cond_wait(&wr->nonempty, &wr->mu);
        if (!wr->head && wr->stopping) {
            pthread_mutex_unlock(&wr->mu);
            break;
        }
        /* Only this thread takes items off the head, so they stay put while
         * the batch runs unlocked. */
        item *batch[BATCH_MAX];
        int count = 0;
        for (item *it = wr->head; it && count < BATCH_MAX; it = it->next)
            batch[count++] = it;
        bool giving_up = wr->stopping && sq_mono_ms() > wr->stop_deadline;
        pthread_mutex_unlock(&wr->mu);

        batch_result res = BATCH_CONN_LOST;
        if (giving_up) {
            sq_error(NULL, "history writer: %zu statements not written at shutdown (postgres down); their "
                           "requests stay uncommitted in Kafka and will be redone",
                     wr->len);
        } else if (connect_pg(wr)) {
            res = run_batch(wr, batch, count);
            if (res == BATCH_STATEMENT_FAILED)
                res = run_one_by_one(wr, batch, count);
        }
        if (res == BATCH_CONN_LOST && !giving_up) {
            if (wr->pg)
                PQfinish(wr->pg);
            wr->pg = NULL;
            sq_sleep_ms(sq_backoff_next(&wait));
            continue; /* the same batch again: nothing is dropped */
        }
        sq_backoff_reset(&wait);
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
