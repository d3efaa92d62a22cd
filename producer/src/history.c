/* history.c — sandq_history: a sandbox's durable record in PostgreSQL (the
 * `sandboxes` row, its `tasks` and its `events`, sql/), read over one
 * short-lived connection per call (pg.c). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One allocation holding the entries and every string they point to. */

static char *dup_text(const char *s)
{
    char *d = strdup(s ? s : "");
    return d;
}

/* Connect (pg.c) and read `SELECT <col>, tenant FROM sandboxes s WHERE id = $1`, checking
 * the sandbox exists and is the client's tenant's. On SANDQ_OK, *db and *row
 * (one row, col first) are the caller's to close; on failure both are closed. */
static sandq_code open_sandbox(sandq_client_t *c, const char *sandbox_id, const char *col, PGconn **db,
                               PGresult **row, sandq_error *err)
{
    *row = NULL;
    sandq_code rc = sqp_pg_connect(c, db, err);
    if (rc)
        return rc;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s, tenant FROM sandboxes s WHERE id = $1", col);
    const char *p[1] = {sandbox_id};
    *row = PQexecParams(*db, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(*row) != PGRES_TUPLES_OK)
        rc = sqp_pg_fail(err, *db, *row, "reading sandboxes");
    else if (PQntuples(*row) == 0)
        rc = sqp_fail(err, SANDQ_E_SANDBOX_NOT_FOUND, "no history for sandbox %s in PostgreSQL", sandbox_id);
    else if (strcmp(PQgetvalue(*row, 0, 1), c->tenant) != 0)
        rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "sandbox %s belongs to another tenant", sandbox_id);
    if (rc == SANDQ_OK)
        return SANDQ_OK;
    PQclear(*row);
    PQfinish(*db);
    *row = NULL;
    *db = NULL;
    return rc;
}

void sandq_history_free(sandq_sandbox_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++) {
        free((char *)h->entries[i].type);
        free((char *)h->entries[i].task_id);
        free((char *)h->entries[i].request_id);
        free((char *)h->entries[i].json);
    }
    free(h->entries);
    free((char *)h->sandbox_json);
    free((char *)h->tasks_json);
    free(h);
}

sandq_code sandq_history(sandq_client_t *c, const char *sandbox_id, sandq_sandbox_history **out, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    *out = NULL;
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    PGconn *db = NULL;
    PGresult *res = NULL;
    const char *p[2] = {sandbox_id, c->tenant};
    sandq_code rc = open_sandbox(c, sandbox_id, "row_to_json(s)::text", &db, &res, err);
    if (rc)
        return rc;
    sandq_sandbox_history *h = calloc(1, sizeof *h);
    if (!h) {
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto done;
    }
    h->sandbox_json = dup_text(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = PQexecParams(db,
                       "SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.created_at, t.id), '[]')::text "
                       "FROM tasks t WHERE sandbox_id = $1",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sqp_pg_fail(err, db, res, "reading tasks");
        goto done;
    }
    h->tasks_json = dup_text(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = PQexecParams(db,
                       "SELECT seq, (extract(epoch FROM at) * 1000)::bigint, type, coalesce(task_id, ''), "
                       "coalesce(request_id, ''), envelope::text FROM events WHERE sandbox_id = $1 ORDER BY seq",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sqp_pg_fail(err, db, res, "reading events");
        goto done;
    }
    int n = PQntuples(res);
    h->entries = calloc((size_t)(n ? n : 1), sizeof *h->entries);
    if (!h->entries) {
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        sandq_history_entry *e = &h->entries[i];
        e->seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        e->at = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        e->type = dup_text(PQgetvalue(res, i, 2));
        e->task_id = dup_text(PQgetvalue(res, i, 3));
        e->request_id = dup_text(PQgetvalue(res, i, 4));
        e->json = dup_text(PQgetvalue(res, i, 5));
        h->count++;
        if (!e->type || !e->task_id || !e->request_id || !e->json) {
            rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
            goto done;
        }
    }
    if (!h->sandbox_json || !h->tasks_json)
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
done:
    PQclear(res);
    PQfinish(db);
    if (rc) {
        sandq_history_free(h);
        return rc;
    }
    *out = h;
    return SANDQ_OK;
}

/* sandq_audit: the `audit` rows of a recording sandbox (sql/015_audit.sql,
 * docs/recording.md), oldest first, as one JSON array. Same connection and
 * tenant rules as sandq_history. */
sandq_code sandq_audit(sandq_client_t *c, const char *sandbox_id, char **rows_json, int *recording,
                       sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !rows_json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and rows_json must not be NULL");
    *rows_json = NULL;
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    PGconn *db;
    PGresult *res;
    const char *p[1] = {sandbox_id};
    sandq_code rc = open_sandbox(c, sandbox_id, "coalesce((capabilities->'recording'->>'enabled')::boolean, false)",
                                 &db, &res, err);
    if (rc)
        return rc;
    if (recording)
        *recording = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    res = PQexecParams(db,
                       "SELECT coalesce(json_agg(json_build_object('seq', seq, 'at', "
                       "(extract(epoch FROM at) * 1000)::bigint, 'category', category, 'eventType', event_type, "
                       "'requestType', request_type, 'taskId', task_id, 'requestId', request_id, 'detail', detail) "
                       "ORDER BY seq), '[]')::text FROM audit WHERE sandbox_id = $1",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sqp_pg_fail(err, db, res, "reading audit");
        goto done;
    }
    *rows_json = strdup(PQgetvalue(res, 0, 0));
    if (!*rows_json)
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
done:
    PQclear(res);
    PQfinish(db);
    return rc;
}
