/* quarantine.c — see quarantine.h. */
#include "store/quarantine.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sq/codec.h"
#include "sq/log.h"
#include "store/pg_sql.h"

/* The parameters as a JSON array. A value that is not UTF-8 (which may be
 * exactly why the row was refused, SQLSTATE 22021) cannot be a JSON string:
 * it goes as {"base64": …}, so the bytes are kept as they were. */
static char *params_json(int n, const char *const *params)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *v = params[i] ? json_string(params[i]) : json_null();
        if (!v) {
            size_t len = strlen(params[i]);
            char *b64 = malloc(sq_b64_encoded_size(len));
            if (b64) {
                sq_b64_encode(params[i], len, b64);
                v = json_pack("{s:s}", "base64", b64);
                free(b64);
            }
        }
        if (!v || json_array_append_new(a, v) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    char *out = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return out;
}

/* Only a refusal on the merits again (the quarantine's own row is bad) is
 * final; anything else is an outage, as for the writer's own rows. */
static bool refused_on_merits(const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

sq_quarantine_result sq_quarantine_row(PGconn *pg, const char *worker_id, const PGresult *refusal, const char *sql,
                                       int n, const char *const *params)
{
    const char *state = PQresultErrorField(refusal, PG_DIAG_SQLSTATE);
    const char *why = PQresultErrorMessage(refusal);
    char *pj = params_json(n, params);
    if (!pj) {
        sq_error(NULL, "history writer: row refused by PostgreSQL (%s) and not quarantined (out of memory): %.200s",
                 why, sql);
        return SQ_QUARANTINE_REFUSED;
    }
    const char *p[SQ_SQL_QUARANTINE_INSERT_PARAMS] = {worker_id, state ? state : "", why, sql, pj};
    PGresult *r = PQexecParams(pg, SQ_SQL_QUARANTINE_INSERT, SQ_SQL_QUARANTINE_INSERT_PARAMS, NULL, p, NULL, NULL, 0);
    sq_quarantine_result out = SQ_QUARANTINE_KEPT;
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        sq_metrics_history_quarantined();
        sq_error(NULL, "history writer: row refused by PostgreSQL (%s %s); kept in history_quarantine: %.200s",
                 state ? state : "?", why, sql);
    } else if (PQstatus(pg) == CONNECTION_BAD || !refused_on_merits(r)) {
        out = SQ_QUARANTINE_OUTAGE;
    } else {
        sq_error(NULL, "history writer: row refused by PostgreSQL (%s) and by history_quarantine (%s): %.200s %s",
                 why, PQresultErrorMessage(r), sql, pj);
        out = SQ_QUARANTINE_REFUSED;
    }
    PQclear(r);
    free(pj);
    return out;
}
