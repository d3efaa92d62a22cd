/* pg_now.c — see pg_now.h. */
#include "store/pg_now.h"

#include <string.h>
#include <unistd.h>

#include "store/pool.h"

#define FK_TRIES 50 /* × 100 ms */

int sq_pg_now(sq_worker *w, const char *what, const char *sql, int n, const char *const *p, PGresult **out,
              sq_err *err)
{
    for (int attempt = 0;; attempt++) {
        sq_store_conn *c = sq_pool_acquire(&w->pool);
        if (sq_pool_pg(&w->pool, c, err) < 0) {
            sq_pool_release(&w->pool, c);
            return -1;
        }
        PGresult *r = PQexecParams(c->pg, sql, n, NULL, p, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            sq_pool_release(&w->pool, c);
            *out = r;
            return 0;
        }
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        bool fk = state && strcmp(state, "23503") == 0;
        sq_err_set(err, SQ_INTERNAL, "%s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        sq_pool_release(&w->pool, c);
        if (!fk || attempt + 1 >= FK_TRIES)
            return -1;
        usleep(100 * 1000);
    }
}
