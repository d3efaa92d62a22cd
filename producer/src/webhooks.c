/* webhooks.c — libsandq's webhook administration: tenant and operator endpoints
 * (add, list, remove, rotate, enable), test deliveries and the delivery log.
 *
 * Endpoints and deliveries are rows of the worker's PostgreSQL tables (sql/007,
 * sql/008), filled by the outbox trigger and drained by every worker's delivery
 * thread; this file reads and writes them with the statements of webhook_sql.h, over
 * one short-lived connection per call, and NOTIFYs the workers where a change should
 * be delivered at once. Why PostgreSQL rather than a Kafka request: docs/webhooks.md
 * ("Administration"). Secrets are sealed here with the same code and key the workers
 * open them with (sq/webhook_secret.h). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/webhook_secret.h"
#include "sq/webhook_sign.h"
#include "webhook_sql.h"

#define URL_MAX 2048

/* "postgres: …" — the word the CLI's users (and tests) know these failures by. */
static sandq_code pg_fail(sandq_error *err, const char *msg)
{
    char line[400];
    snprintf(line, sizeof line, "%s", msg && *msg ? msg : "unknown error");
    line[strcspn(line, "\n")] = '\0';
    return sqp_fail(err, SANDQ_E_DATABASE, "postgres: %s", line);
}

static PGconn *connect_db(sandq_client_t *c, sandq_error *err)
{
    /* connect_timeout bounds the call when PostgreSQL is unreachable */
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {c->database_url, "5", NULL};
    PGconn *db = PQconnectdbParams(keys, vals, 1);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        pg_fail(err, db ? PQerrorMessage(db) : "out of memory");
        PQfinish(db);
        return NULL;
    }
    return db;
}

/* Run one statement; NULL (err filled) unless it succeeded. */
static PGresult *run(PGconn *db, const char *sql, int n, const char *const *params, sandq_error *err)
{
    PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    pg_fail(err, r ? PQresultErrorMessage(r) : PQerrorMessage(db));
    PQclear(r);
    return NULL;
}

/* A statement whose result does not matter beyond success. */
static sandq_code run_only(PGconn *db, const char *sql, int n, const char *const *params, sandq_error *err)
{
    PGresult *r = run(db, sql, n, params, err);
    if (!r)
        return SANDQ_E_DATABASE;
    PQclear(r);
    return SANDQ_OK;
}

/* A statement with RETURNING: SANDQ_E_NOT_FOUND when it touched no row. */
static sandq_code run_one(PGconn *db, const char *sql, int n, const char *const *params, const char *what,
                          const char *id, sandq_error *err)
{
    PGresult *r = run(db, sql, n, params, err);
    if (!r)
        return SANDQ_E_DATABASE;
    int rows = PQntuples(r);
    PQclear(r);
    return rows > 0 ? SANDQ_OK : sqp_fail(err, SANDQ_E_NOT_FOUND, "no %s %s", what, id);
}

static sandq_code check_endpoint_id(sandq_client_t *c, const char *id, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    if (!id || !sq_id_valid(id, "ep"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "an endpoint id is ep_ followed by a ULID, not \"%s\"",
                        id ? id : "(null)");
    return SANDQ_OK;
}

/* Wake the workers' delivery threads now rather than at their next poll. The change
 * itself is already committed, so a failed NOTIFY only delays it: not an error. */
static void wake(PGconn *db)
{
    PQclear(PQexec(db, SQP_WH_SQL_NOTIFY));
}

/* ---- tables ---- */

/* One allocation: the struct, the two pointer arrays, then every string. */
static sandq_code table_from(const PGresult *r, sandq_table **out, sandq_error *err)
{
    size_t rows = (size_t)PQntuples(r), cols = (size_t)PQnfields(r);
    size_t bytes = sizeof(sandq_table) + (cols + rows * cols) * sizeof(char *);
    for (size_t j = 0; j < cols; j++)
        bytes += strlen(PQfname(r, (int)j)) + 1;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            bytes += (size_t)PQgetlength(r, (int)i, (int)j) + 1;
    sandq_table *t = malloc(bytes);
    if (!t)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    const char **names = (const char **)(t + 1);
    const char **cells = names + cols;
    char *p = (char *)(cells + rows * cols);
    for (size_t j = 0; j < cols; j++) {
        size_t l = strlen(PQfname(r, (int)j)) + 1;
        names[j] = memcpy(p, PQfname(r, (int)j), l);
        p += l;
    }
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            if (PQgetisnull(r, (int)i, (int)j)) {
                cells[i * cols + j] = NULL;
                continue;
            }
            size_t l = (size_t)PQgetlength(r, (int)i, (int)j);
            memcpy(p, PQgetvalue(r, (int)i, (int)j), l);
            p[l] = '\0';
            cells[i * cols + j] = p;
            p += l + 1;
        }
    *t = (sandq_table){.rows = rows, .cols = cols, .names = names, .cells = cells};
    *out = t;
    return SANDQ_OK;
}

void sandq_table_free(sandq_table *table)
{
    free(table);
}

const char *sandq_table_get(const sandq_table *t, size_t row, const char *name)
{
    if (!t || !name || row >= t->rows)
        return NULL;
    for (size_t j = 0; j < t->cols; j++)
        if (strcmp(t->names[j], name) == 0)
            return t->cells[row * t->cols + j];
    return NULL;
}

static sandq_code query_table(sandq_client_t *c, const char *sql, int n, const char *const *params,
                              sandq_table **out, sandq_error *err)
{
    PGconn *db = connect_db(c, err);
    if (!db)
        return SANDQ_E_DATABASE;
    PGresult *r = run(db, sql, n, params, err);
    sandq_code rc = r ? table_from(r, out, err) : SANDQ_E_DATABASE;
    PQclear(r);
    PQfinish(db);
    return rc;
}

/* ---- secrets ---- */

/* The given secret (checked) or a new one, sealed for endpoint id. */
static sandq_code make_secret(sandq_client_t *c, const char *id, const char *given, sandq_webhook_secret *s,
                              char sealed[SQ_WH_SEALED_MAX], sandq_error *err)
{
    sq_err e;
    sq_wh_box box;
    if (sq_wh_box_init(&box, c->webhook_secret_key, &e) < 0)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s", e.msg);
    if (given) {
        sq_wh_key k;
        if (strncmp(given, "whsec_", 6) != 0 || sq_wh_key_from_secret(given, &k, &e) < 0 ||
            strlen(given) >= sizeof s->secret)
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "the secret must be whsec_ followed by base64");
        snprintf(s->secret, sizeof s->secret, "%s", given);
    } else if (sq_wh_secret_generate(s->secret, sizeof s->secret, &e) < 0) {
        return sqp_fail(err, SANDQ_E_INTERNAL, "%s", e.msg);
    }
    snprintf(s->endpoint_id, sizeof s->endpoint_id, "%s", id);
    s->stored_plain = !box.has_key;
    int rc = sq_wh_box_seal(&box, id, s->secret, sealed, &e);
    memset(&box, 0, sizeof box);
    return rc < 0 ? sqp_fail(err, SANDQ_E_INTERNAL, "%s", e.msg) : SANDQ_OK;
}

static bool url_ok(const char *u)
{
    bool scheme = (strncmp(u, "http://", 7) == 0 && u[7]) || (strncmp(u, "https://", 8) == 0 && u[8]);
    return scheme && strlen(u) <= URL_MAX && !strpbrk(u, " \t\r\n");
}

/* ---- the calls ---- */

sandq_code sandq_webhook_add(sandq_client_t *c, const char *url, const sandq_webhook_opts *opts,
                             sandq_webhook_secret *out, sandq_error *err)
{
    sqp_err_clear(err);
    sandq_webhook_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_webhook_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    memset(out, 0, sizeof *out);
    if (!url || !url_ok(url))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT,
                        "URL must be http:// or https:// (at most 2048 characters, no spaces)");
    char id[SQ_ID_MAX], sealed[SQ_WH_SEALED_MAX];
    sq_id_new("ep", id);
    sandq_webhook_secret s = {0};
    sandq_code rc = make_secret(c, id, o.secret, &s, sealed, err);
    if (rc)
        return rc;
    json_t *types = json_array();
    for (const char *const *t = o.event_types; t && *t; t++)
        json_array_append_new(types, json_string(*t));
    char *tj = json_dumps(types, JSON_COMPACT);
    json_decref(types);
    if (!tj)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    PGconn *db = connect_db(c, err);
    if (db) {
        const char *p[] = {id, o.tenant, url, sealed, tj, o.description};
        rc = run_only(db, SQP_WH_SQL_ADD, SQP_WH_SQL_ADD_PARAMS, p, err);
        PQfinish(db);
    } else {
        rc = SANDQ_E_DATABASE;
    }
    free(tj);
    if (rc == SANDQ_OK)
        *out = s;
    memset(&s, 0, sizeof s);
    return rc;
}

sandq_code sandq_webhook_list(sandq_client_t *c, sandq_table **out, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    *out = NULL;
    return query_table(c, SQP_WH_SQL_LIST, SQP_WH_SQL_LIST_PARAMS, NULL, out, err);
}

/* One statement about the endpoint params[0] (SANDQ_E_NOT_FOUND if it touched no
 * row), then, with notify, a wake-up of the delivery threads. */
static sandq_code on_endpoint(sandq_client_t *c, const char *sql, int n, const char *const *params, bool notify,
                              sandq_error *err)
{
    PGconn *db = connect_db(c, err);
    if (!db)
        return SANDQ_E_DATABASE;
    sandq_code rc = run_one(db, sql, n, params, "endpoint", params[0], err);
    if (!rc && notify)
        wake(db);
    PQfinish(db);
    return rc;
}

sandq_code sandq_webhook_remove(sandq_client_t *c, const char *id, sandq_error *err)
{
    sandq_code rc = check_endpoint_id(c, id, err);
    if (rc)
        return rc;
    PGconn *db = connect_db(c, err);
    if (!db)
        return SANDQ_E_DATABASE;
    /* Pending deliveries fail visibly instead of waiting forever for an endpoint that
     * is gone; in one transaction with the delete, so neither happens alone. */
    const char *p[] = {id};
    rc = run_only(db, "BEGIN", 0, NULL, err);
    if (!rc)
        rc = run_only(db, SQP_WH_SQL_RM_FAIL_PENDING, SQP_WH_SQL_RM_FAIL_PENDING_PARAMS, p, err);
    if (!rc)
        rc = run_one(db, SQP_WH_SQL_RM_DELETE, SQP_WH_SQL_RM_DELETE_PARAMS, p, "endpoint", id, err);
    if (!rc)
        rc = run_only(db, "COMMIT", 0, NULL, err);
    PQfinish(db); /* without COMMIT, closing the connection rolls the transaction back */
    return rc;
}

sandq_code sandq_webhook_rotate(sandq_client_t *c, const char *id, const char *secret, sandq_webhook_secret *out,
                                sandq_error *err)
{
    sandq_code rc = check_endpoint_id(c, id, err);
    if (rc)
        return rc;
    if (!out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "out must not be NULL");
    memset(out, 0, sizeof *out);
    char sealed[SQ_WH_SEALED_MAX];
    sandq_webhook_secret s = {0};
    if ((rc = make_secret(c, id, secret, &s, sealed, err)))
        return rc;
    const char *p[] = {id, sealed};
    rc = on_endpoint(c, SQP_WH_SQL_ROTATE, SQP_WH_SQL_ROTATE_PARAMS, p, false, err);
    if (rc == SANDQ_OK)
        *out = s;
    memset(&s, 0, sizeof s);
    return rc;
}

/* rotate --done, enable: one statement on one endpoint. */
static sandq_code endpoint_update(sandq_client_t *c, const char *id, const char *sql, bool notify, sandq_error *err)
{
    sandq_code rc = check_endpoint_id(c, id, err);
    if (rc)
        return rc;
    const char *p[] = {id};
    return on_endpoint(c, sql, 1, p, notify, err);
}

sandq_code sandq_webhook_rotate_done(sandq_client_t *c, const char *id, sandq_error *err)
{
    return endpoint_update(c, id, SQP_WH_SQL_ROTATE_DONE, false, err);
}

sandq_code sandq_webhook_enable(sandq_client_t *c, const char *id, sandq_error *err)
{
    return endpoint_update(c, id, SQP_WH_SQL_ENABLE, true, err);
}

sandq_code sandq_webhook_test(sandq_client_t *c, const char *id, int64_t *delivery_id, sandq_error *err)
{
    sandq_code rc = check_endpoint_id(c, id, err);
    if (rc)
        return rc;
    if (!delivery_id)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "delivery_id must not be NULL");
    *delivery_id = 0;
    char evt[SQ_ID_MAX];
    sq_id_new("evt", evt);
    json_t *env = json_pack("{s:i, s:s, s:s, s:I, s:{s:s}}", "v", 1, "eventId", evt, "type", "webhook.test", "at",
                            (json_int_t)sq_now_ms(), "data", "endpointId", id);
    char *payload = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!payload)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    PGconn *db = connect_db(c, err);
    if (!db) {
        free(payload);
        return SANDQ_E_DATABASE;
    }
    const char *p[] = {evt, id, payload};
    PGresult *r = run(db, SQP_WH_SQL_TEST, SQP_WH_SQL_TEST_PARAMS, p, err);
    free(payload);
    if (!r)
        rc = SANDQ_E_DATABASE;
    else if (PQntuples(r) == 0)
        rc = sqp_fail(err, SANDQ_E_NOT_FOUND, "no endpoint %s", id);
    else
        *delivery_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (!rc)
        wake(db);
    PQfinish(db);
    return rc;
}

sandq_code sandq_webhook_delivery(sandq_client_t *c, int64_t delivery_id, sandq_table **out, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    *out = NULL;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)delivery_id);
    const char *p[] = {id};
    sandq_code rc = query_table(c, SQP_WH_SQL_DELIVERY, SQP_WH_SQL_DELIVERY_PARAMS, p, out, err);
    if (rc == SANDQ_OK && (*out)->rows == 0) {
        sandq_table_free(*out);
        *out = NULL;
        rc = sqp_fail(err, SANDQ_E_NOT_FOUND, "no delivery %s", id);
    }
    return rc;
}

sandq_code sandq_webhook_deliveries(sandq_client_t *c, const sandq_deliveries_opts *opts, sandq_table **out,
                                    sandq_error *err)
{
    sqp_err_clear(err);
    sandq_deliveries_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_deliveries_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    *out = NULL;
    if (o.endpoint_id && !sq_id_valid(o.endpoint_id, "ep"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "an endpoint id is ep_ followed by a ULID, not \"%s\"",
                        o.endpoint_id);
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", o.limit ? o.limit : 50);
    const char *p[] = {o.failed_only ? "failed" : NULL, o.endpoint_id, lim};
    return query_table(c, SQP_WH_SQL_DELIVERIES, SQP_WH_SQL_DELIVERIES_PARAMS, p, out, err);
}

sandq_code sandq_webhook_redeliver(sandq_client_t *c, int64_t delivery_id, int *endpoint_enabled, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    if (delivery_id <= 0)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "a delivery id is a positive number");
    PGconn *db = connect_db(c, err);
    if (!db)
        return SANDQ_E_DATABASE;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)delivery_id);
    const char *p[] = {id};
    sandq_code rc = SANDQ_OK;
    PGresult *r = run(db, SQP_WH_SQL_REDELIVER, SQP_WH_SQL_REDELIVER_PARAMS, p, err);
    if (!r)
        rc = SANDQ_E_DATABASE;
    else if (PQntuples(r) == 0)
        rc = sqp_fail(err, SANDQ_E_NOT_FOUND, "no delivery %s (or its endpoint was removed)", id);
    else if (endpoint_enabled)
        *endpoint_enabled = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if (!rc)
        wake(db);
    PQfinish(db);
    return rc;
}
