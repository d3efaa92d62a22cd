/* migrate.c — applies the embedded sql/ migrations (see migrations.h). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/migrations.h"
#include "sq/log.h"

/* Any 64-bit constant works; it only has to be the same for every worker. */
#define MIGRATE_LOCK_KEY "7305893401127741"

static int run(PGconn *c, const char *sql, sq_err *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = sq_err_set(err, SQ_INTERNAL, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

static int applied_version(PGconn *c, int version, int *yes, sq_err *err)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {v};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        sq_err_set(err, SQ_INTERNAL, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *yes = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

int sq_migrate(const char *database_url, int *applied, sq_err *err)
{
    *applied = 0;
    PGconn *c = PQconnectdb(database_url);
    if (PQstatus(c) != CONNECTION_OK) {
        sq_err_set(err, SQ_INTERNAL, "postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int rc = run(c, "SET client_min_messages = warning", err);
    if (rc == 0)
        rc = run(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err);
    if (rc == 0)
        rc = run(c,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                 "applied_at timestamptz NOT NULL DEFAULT now())",
                 err);
    for (int i = 0; rc == 0 && i < sq_migrations_count; i++) {
        const sq_migration *m = &sq_migrations[i];
        int done = 0;
        if ((rc = applied_version(c, m->version, &done, err)) < 0 || done)
            continue;
        if ((rc = run(c, "BEGIN", err)) < 0)
            break;
        if (run(c, m->sql, err) < 0) {
            sq_err_wrap(err, "migration %03d_%s", m->version, m->name);
            run(c, "ROLLBACK", NULL);
            rc = -1;
            break;
        }
        char v[16];
        snprintf(v, sizeof v, "%d", m->version);
        const char *p[] = {v, m->name};
        PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", 2, NULL,
                                   p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            sq_err_set(err, SQ_INTERNAL, "%s", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
        if (rc == 0 && (rc = run(c, "COMMIT", err)) == 0) {
            (*applied)++;
            sq_info(NULL, "applied migration %03d_%s", m->version, m->name);
        } else {
            run(c, "ROLLBACK", NULL);
        }
    }
    run(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", NULL);
    PQfinish(c);
    return rc;
}
