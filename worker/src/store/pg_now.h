/* pg_now.h — one PostgreSQL statement run now, on a pool connection, for the
 * callers that need the row before they go on (checkpoints, persisted
 * sandboxes' specs) rather than the history writer's batches. */
#ifndef SQ_PG_NOW_H
#define SQ_PG_NOW_H

#include <libpq-fe.h>

#include "worker.h"

/* Run sql with n text parameters; *out gets the result (PQclear it). A
 * foreign-key miss (the sandbox row still in the history writer's queue) is
 * retried for about 5 s. `what` prefixes the error message. */
int sq_pg_now(sq_worker *w, const char *what, const char *sql, int n, const char *const *p, PGresult **out,
              sq_err *err);

#endif
