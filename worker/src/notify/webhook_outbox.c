/* webhook_outbox.c — see webhook_outbox.h. Every statement is PQexecParams:
 * no value is spliced into SQL text. */
#include "notify/webhook_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_sql.h"
#include "store/pg_store.h"
#include "store/writer.h"
#include "sq/log.h"
#include "notify/webhook_delivery.h"

static PGresult *run(PGconn *pg, const char *sql, int n, const char *const *p, sq_err *err)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    sq_err_set(err, SQ_INTERNAL, "postgres: %s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

int sq_webhook_subscribe_sandbox(sq_worker *w, const sq_request *create, sq_err *err)
{
    const json_t *hook = json_object_get(create->body, "webhook");
    if (!json_is_object(hook))
        return 0;
    const char *url = json_string_value(json_object_get(hook, "url"));
    const char *secret = json_string_value(json_object_get(hook, "secret"));
    if (!url || !secret)
        return 0; /* validation requires both; nothing to subscribe otherwise */
    sq_wh_box local;
    const sq_wh_box *box = sq_webhooks_box(w);
    if (!box) {
        if (sq_wh_box_init(&local, getenv("SANDQ_WEBHOOK_SECRET_KEY"), err) < 0)
            return -1;
        box = &local;
    }
    char id[SQ_ID_MAX], sealed[SQ_WH_SEALED_MAX];
    sq_id_new("ep", id);
    if (sq_wh_box_seal(box, id, secret, sealed, err) < 0)
        return -1;
    const json_t *types = json_object_get(hook, "eventTypes");
    char *types_json = types ? json_dumps(types, JSON_COMPACT) : strdup("[]");
    const char *p[] = {id, create->sandbox_id, create->tenant, url, sealed, types_json};
    /* Through the history writer: its FIFO puts this row after the sandbox's
     * and before the sandbox's first event, whose trigger then finds it. */
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_WEBHOOK_ENDPOINT_INSERT_PARAMS, "parameters of the insert");
    sq_writer_exec(w->writer, SQ_SQL_WEBHOOK_ENDPOINT_INSERT, SQ_SQL_WEBHOOK_ENDPOINT_INSERT_PARAMS, p);
    memset(sealed, 0, sizeof sealed);
    free(types_json);
    return 0;
}

void sq_wh_claimed_free(sq_wh_claimed *c)
{
    free(c->url);
    free(c->secret_sealed);
    free(c->secret_prev_sealed);
    free(c->payload);
    memset(c, 0, sizeof *c);
}

/* A text[] literal of endpoint ids (ep_ + Crockford base32: nothing to quote). */
static char *ids_literal(const char *const *ids, int n)
{
    size_t len = 3;
    for (int i = 0; i < n; i++)
        len += strlen(ids[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", ids[i]);
    *p++ = '}';
    *p = '\0';
    return s;
}

int sq_wh_outbox_claim(PGconn *pg, const char *owner, int limit, int per_endpoint, const char *const *skip, int nskip,
                       int lease_s, sq_wh_claimed **out, int *n, sq_err *err)
{
    *out = NULL;
    *n = 0;
    char lim[16], lease[16], per[16];
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(lease, sizeof lease, "%d", lease_s);
    snprintf(per, sizeof per, "%d", per_endpoint);
    char *skips = ids_literal(skip, nskip);
    if (!skips)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    const char *p[] = {owner, lim, skips, lease, per};
    /* Two ways to find due rows, the same rows either way:
     *  - nothing saturated: due rows in time order (webhook_deliveries_due);
     *    the scan stops after `limit` rows and never looks at retries that
     *    are due later, however many endpoints have them;
     *  - some endpoints at their cap: their due backlog would be scanned past
     *    on every claim, so walk the endpoints that have pending rows (a loose
     *    index scan on webhook_deliveries_endpoint_due) and take each one's
     *    oldest due rows instead.
     * ($3 and $5 are mentioned in by_time only so both texts take the same
     * parameters.) */
    static const char *const by_time =
        "WITH due AS ("
        "  SELECT d.id FROM webhook_deliveries d"
        "    JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled"
        "   WHERE d.state = 'pending' AND d.next_attempt_at <= now()"
        "     AND (d.lease_until IS NULL OR d.lease_until < now())"
        "     AND $3::text[] IS NOT NULL AND $5::int > 0"
        "   ORDER BY d.next_attempt_at, d.id LIMIT $2::int"
        "   FOR UPDATE OF d SKIP LOCKED) ";
    static const char *const by_endpoint =
        "WITH RECURSIVE eps(e) AS ("
        "    SELECT min(endpoint_id) FROM webhook_deliveries WHERE state = 'pending'"
        "  UNION ALL"
        "    SELECT (SELECT min(d.endpoint_id) FROM webhook_deliveries d"
        "             WHERE d.state = 'pending' AND d.endpoint_id > eps.e)"
        "      FROM eps WHERE eps.e IS NOT NULL"
        "), cand AS ("
        "  SELECT x.id, x.next_attempt_at FROM eps"
        "    JOIN webhook_endpoints en ON en.id = eps.e AND en.enabled"
        "    CROSS JOIN LATERAL ("
        "      SELECT d.id, d.next_attempt_at FROM webhook_deliveries d"
        "       WHERE d.endpoint_id = eps.e AND d.state = 'pending' AND d.next_attempt_at <= now()"
        "         AND (d.lease_until IS NULL OR d.lease_until < now())"
        "       ORDER BY d.next_attempt_at, d.id LIMIT $5::int) x"
        "   WHERE NOT (eps.e = ANY ($3::text[]))"
        "   ORDER BY x.next_attempt_at, x.id LIMIT $2::int"
        "), due AS ("
        /* Re-checked under the row lock: a row another worker leased
         * since `cand` looked is skipped, not taken twice. */
        "  SELECT d.id FROM webhook_deliveries d"
        "   WHERE d.id IN (SELECT id FROM cand) AND d.state = 'pending'"
        "     AND (d.lease_until IS NULL OR d.lease_until < now())"
        "   FOR UPDATE SKIP LOCKED) "
        ;
    static const char *const take =
        "UPDATE webhook_deliveries d SET lease_owner = $1,"
        "       lease_until = now() + make_interval(secs => $4::int), updated_at = now()"
        "  FROM due, webhook_endpoints e"
        " WHERE d.id = due.id AND e.id = d.endpoint_id "
        "RETURNING d.id, d.attempts, d.event_id, d.endpoint_id, e.url, e.secret_sealed,"
        "          e.secret_prev_sealed, d.payload";
    char sql[4096];
    snprintf(sql, sizeof sql, "%s%s", nskip ? by_endpoint : by_time, take);
    PGresult *r = run(pg, sql, 5, p, err);
    free(skips);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    sq_wh_claimed *v = rows ? calloc((size_t)rows, sizeof *v) : NULL;
    if (rows && !v) {
        PQclear(r);
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        v[i].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        v[i].attempts = atoi(PQgetvalue(r, i, 1));
        snprintf(v[i].event_id, sizeof v[i].event_id, "%s", PQgetvalue(r, i, 2));
        snprintf(v[i].endpoint_id, sizeof v[i].endpoint_id, "%s", PQgetvalue(r, i, 3));
        v[i].url = strdup(PQgetvalue(r, i, 4));
        v[i].secret_sealed = strdup(PQgetvalue(r, i, 5));
        v[i].secret_prev_sealed = PQgetisnull(r, i, 6) ? NULL : strdup(PQgetvalue(r, i, 6));
        v[i].payload = strdup(PQgetvalue(r, i, 7));
    }
    PQclear(r);
    *out = v;
    *n = rows;
    return 0;
}

int sq_wh_outbox_release(PGconn *pg, const char *owner, const int64_t *ids, int n, sq_err *err)
{
    if (n == 0)
        return 0;
    char *lit = malloc((size_t)n * 22 + 3), *q = lit;
    if (!lit)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    *q++ = '{';
    for (int i = 0; i < n; i++)
        q += sprintf(q, "%s%lld", i ? "," : "", (long long)ids[i]);
    *q++ = '}';
    *q = '\0';
    const char *p[] = {owner, lit};
    PGresult *r = run(pg,
                      "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL "
                      "WHERE id = ANY ($2::bigint[]) AND lease_owner = $1",
                      2, p, err);
    free(lit);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int sq_wh_outbox_record(PGconn *pg, const char *owner, const sq_wh_claimed *c, sq_wh_outcome outcome, int status,
                        int64_t latency_ms, const char *error, int64_t next_delay_ms, sq_err *err)
{
    static const char *const states[] = {"delivered", "pending", "failed", "failed"};
    char id[24], st[16], lat[24], delay[24], attempt[16];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    snprintf(st, sizeof st, "%d", status);
    snprintf(lat, sizeof lat, "%lld", (long long)latency_ms);
    snprintf(delay, sizeof delay, "%lld", (long long)(next_delay_ms > 0 ? next_delay_ms : 0));
    snprintf(attempt, sizeof attempt, "%d", c->attempts + 1);
    const char *p[] = {id, owner, states[outcome], status ? st : NULL, lat, error, delay, attempt};
    PGresult *r = run(pg,
                      "WITH d AS ("
                      "  UPDATE webhook_deliveries SET state = $3, attempts = $8::int, last_status = $4::int,"
                      "         last_latency_ms = $5::int, last_error = $6,"
                      "         next_attempt_at = CASE WHEN $3 = 'pending'"
                      "             THEN now() + make_interval(secs => $7::bigint / 1000.0) ELSE next_attempt_at END,"
                      "         delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END,"
                      "         lease_owner = NULL, lease_until = NULL, updated_at = now()"
                      "   WHERE id = $1::bigint AND lease_owner = $2 RETURNING id) "
                      "INSERT INTO webhook_attempts (delivery_id, attempt, worker_id, status, latency_ms, error) "
                      "SELECT id, $8::int, $2, $4::int, $5::int, $6 FROM d "
                      "ON CONFLICT (delivery_id, attempt) DO NOTHING",
                      8, p, err);
    if (!r)
        return -1;
    PQclear(r);
    if (outcome == SQ_WH_GONE) {
        const char *q[] = {c->endpoint_id};
        r = run(pg,
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'receiver answered 410 Gone', "
                "updated_at = now() WHERE id = $1",
                1, q, err);
        if (!r)
            return -1;
        PQclear(r);
    }
    return 0;
}
