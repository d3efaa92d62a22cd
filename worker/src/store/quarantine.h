/* quarantine.h — where the history writer keeps a row PostgreSQL refused on
 * its merits (SQLSTATE class 22 or 23): the `history_quarantine` table
 * (sql/011), with the statement, its parameters and the error, so that no
 * history row is ever dropped in silence while the requests behind it go on.
 * Counted by sandq_history_quarantined_total. */
#ifndef SQ_QUARANTINE_H
#define SQ_QUARANTINE_H

#include <libpq-fe.h>

typedef enum {
    SQ_QUARANTINE_KEPT,        /* the row is in history_quarantine */
    SQ_QUARANTINE_OUTAGE,      /* PostgreSQL went away: try the row again later */
    SQ_QUARANTINE_REFUSED,     /* refused too (a bug): only the log has it now */
} sq_quarantine_result;

/* Keep the row `sql` / `params` (n of them, NULL = SQL NULL) that `refusal`
 * refused, in its own autocommitted statement on `pg`. Logs the outcome. */
sq_quarantine_result sq_quarantine_row(PGconn *pg, const char *worker_id, const PGresult *refusal, const char *sql,
                                       int n, const char *const *params);

#endif
