/* pg.c — libsandq's PostgreSQL calls share this: one short-lived connection
 * per call from the client's database_url (sandq_history in history.c,
 * sandq_agent_transcript in prompt.c), and their errors as SANDQ_E_DATABASE. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

sandq_code sqp_pg_fail(sandq_error *err, PGconn *db, PGresult *res, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db);
    char line[400];
    snprintf(line, sizeof line, "%s", msg ? msg : "unknown error");
    line[strcspn(line, "\n")] = '\0';
    return sqp_fail(err, SANDQ_E_DATABASE, "%s: %s", what, line);
}

sandq_code sqp_pg_connect(sandq_client_t *c, PGconn **out, sandq_error *err)
{
    /* connect_timeout bounds the call when PostgreSQL is unreachable */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {c->database_url, "5", NULL};
    PGconn *db = PQconnectdbParams(keys, vals, 1);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        sandq_code rc = sqp_pg_fail(err, db, NULL, "cannot connect to PostgreSQL");
        PQfinish(db);
        *out = NULL;
        return rc;
    }
    *out = db;
    return SANDQ_OK;
}
