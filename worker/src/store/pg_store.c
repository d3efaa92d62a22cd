/* pg_store.c — libpq adapter for history (see pg_store.h). All statements use
 * PQexecParams: no value is ever spliced into SQL text. */
#include "store/pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_sql.h"
#include "sq/log.h"
#include "store/writer.h"

/* Every write goes to the history writer (writer.h): batched, ordered, never
 * dropped, and counted against the current job until committed. */
static int exec(sq_worker *w, sq_err *err, const char *sql, int n, const char *const *params)
{
    (void)err;
    sq_writer_exec(w->writer, sql, n, params);
    return 0;
}

static char *dump_or(const json_t *v, const char *fallback)
{
    return v ? json_dumps(v, JSON_COMPACT) : strdup(fallback);
}

int sq_pg_sandbox_insert(sq_worker *w, const sq_live_sandbox *sb, const sq_request *create, const json_t *stored_caps,
                         sq_err *err)
{
    const json_t *body = create->body;
    const char *runtime = json_string_value(json_object_get(body, "runtime"));
    const json_t *net = json_object_get(body, "network"); /* "internet" or {mode, …} */
    const char *network = json_string_value(json_is_object(net) ? json_object_get(net, "mode") : net);
    char *caps = dump_or(stored_caps ? stored_caps : json_object_get(body, "capabilities"), "{}");
    char *limits = dump_or(json_object_get(body, "limits"), "{}");
    char *meta = dump_or(create->metadata, "{}");
    const char *p[] = {sb->id,  sb->tenant, sb->region, w->cfg.worker_id, runtime ? runtime : "base",
                       network ? network : "none", sb->reply_to[0] ? sb->reply_to : NULL, create->request_id,
                       caps, limits, meta};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_SANDBOX_INSERT_PARAMS, "parameters of SQ_SQL_SANDBOX_INSERT");
    int rc = exec(w, err, SQ_SQL_SANDBOX_INSERT, SQ_SQL_SANDBOX_INSERT_PARAMS, p);
    free(caps);
    free(limits);
    free(meta);
    return rc;
}

int sq_pg_sandbox_state(sq_worker *w, const char *sandbox_id, sq_state state, const char *reason,
                        const char *message, sq_err *err)
{
    const char *p[] = {sandbox_id, sq_state_name(state), reason, message, w->cfg.worker_id};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_SANDBOX_STATE_PARAMS, "parameters of SQ_SQL_SANDBOX_STATE");
    return exec(w, err, SQ_SQL_SANDBOX_STATE, SQ_SQL_SANDBOX_STATE_PARAMS, p);
}

int sq_pg_sandbox_limits(sq_worker *w, const char *sandbox_id, const json_t *limits, sq_err *err)
{
    char *lim = json_dumps(limits, JSON_COMPACT);
    const char *p[] = {sandbox_id, lim};
    int rc = exec(w, err, SQ_SQL_SANDBOX_LIMITS, SQ_SQL_SANDBOX_LIMITS_PARAMS, p);
    free(lim);
    return rc;
}

int sq_pg_task_insert(sq_worker *w, const char *task_id, const char *sandbox_id, const sq_request *req,
                      const char *kind, const json_t *summary, sq_err *err)
{
    char *sum = dump_or(summary, "{}");
    const char *p[] = {task_id, sandbox_id, req->request_id, kind, req->type_name, sum};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_TASK_INSERT_PARAMS, "parameters of SQ_SQL_TASK_INSERT");
    int rc = exec(w, err, SQ_SQL_TASK_INSERT, SQ_SQL_TASK_INSERT_PARAMS, p);
    free(sum);
    return rc;
}

int sq_pg_task_started(sq_worker *w, const char *task_id, sq_err *err)
{
    const char *p[] = {task_id};
    return exec(w, err, SQ_SQL_TASK_STARTED, SQ_SQL_TASK_STARTED_PARAMS, p);
}

int sq_pg_task_finished(sq_worker *w, const char *task_id, const char *error_code, const char *error_message,
                        int exit_code, const json_t *result, int64_t duration_ms, sq_err *err)
{
    char code[16], dur[32];
    snprintf(code, sizeof code, "%d", exit_code);
    snprintf(dur, sizeof dur, "%lld", (long long)duration_ms);
    char *res = result ? json_dumps(result, JSON_COMPACT) : NULL;
    const char *p[] = {task_id, error_code ? "failed" : "completed", exit_code >= 0 ? code : NULL, error_code,
                       error_message, res, dur};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_TASK_FINISHED_PARAMS, "parameters of SQ_SQL_TASK_FINISHED");
    int rc = exec(w, err, SQ_SQL_TASK_FINISHED, SQ_SQL_TASK_FINISHED_PARAMS, p);
    free(res);
    return rc;
}

int sq_pg_agent_transcript(sq_worker *w, const char *task_id, const char *sandbox_id, const char *agent,
                           const char *model, const char *steps, const char *transcript, sq_err *err)
{
    const char *p[] = {task_id, sandbox_id, agent, model, steps, transcript};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_AGENT_TRANSCRIPT_PARAMS, "parameters of SQ_SQL_AGENT_TRANSCRIPT");
    return exec(w, err, SQ_SQL_AGENT_TRANSCRIPT, SQ_SQL_AGENT_TRANSCRIPT_PARAMS, p);
}

int sq_pg_event_append(sq_worker *w, const json_t *ev, const char *env, sq_err *err)
{
    char seq[32], at[32];
    snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(ev, "seq")));
    snprintf(at, sizeof at, "%lld", (long long)json_integer_value(json_object_get(ev, "at")));
    const char *p[] = {json_string_value(json_object_get(ev, "eventId")),
                       json_string_value(json_object_get(ev, "sandboxId")),
                       seq,
                       json_string_value(json_object_get(ev, "type")),
                       json_string_value(json_object_get(ev, "taskId")),
                       json_string_value(json_object_get(ev, "requestId")),
                       json_string_value(json_object_get(ev, "tenant")),
                       json_string_value(json_object_get(ev, "workerId")),
                       at,
                       env};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_EVENT_INSERT_PARAMS, "parameters of SQ_SQL_EVENT_INSERT");
    int rc = exec(w, err, SQ_SQL_EVENT_INSERT, SQ_SQL_EVENT_INSERT_PARAMS, p);
    return rc;
}

int sq_pg_audit_append(sq_worker *w, const char *sandbox_id, int64_t seq, int64_t at_ms, const char *category,
                       const char *event_type, const char *request_type, const char *task_id,
                       const char *request_id, const char *detail_text, sq_err *err)
{
    char sq[32], at[32];
    snprintf(sq, sizeof sq, "%lld", (long long)seq);
    snprintf(at, sizeof at, "%lld", (long long)at_ms);
    const char *p[] = {sandbox_id, sq, at, category, event_type, request_type, task_id, request_id, detail_text};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_AUDIT_INSERT_PARAMS, "parameters of SQ_SQL_AUDIT_INSERT");
    return exec(w, err, SQ_SQL_AUDIT_INSERT, SQ_SQL_AUDIT_INSERT_PARAMS, p);
}

int sq_pg_request_record(sq_worker *w, const char *request_id, const char *sandbox_id, const char *type,
                         const char *outcome, sq_err *err)
{
    const char *p[] = {request_id, sandbox_id && *sandbox_id ? sandbox_id : NULL, type, outcome};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_REQUEST_INSERT_PARAMS, "parameters of SQ_SQL_REQUEST_INSERT");
    return exec(w, err, SQ_SQL_REQUEST_INSERT, SQ_SQL_REQUEST_INSERT_PARAMS, p);
}

int sq_pg_request_known(sq_worker *w, const char *request_id, bool *known, sq_err *err)
{
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    int rc = -1;
    *known = false;
    if (sq_pool_pg(&w->pool, c, err) == 0) {
        /* Asked for every request: prepared once per connection, so PostgreSQL
         * does not parse and plan it each time. */
        static const char ledger_sql[] = "SELECT 1 FROM requests WHERE request_id = $1";
        if (!c->pg_prepared) {
            PGresult *prep = PQprepare(c->pg, "sq_ledger_known", ledger_sql, 1, NULL);
            c->pg_prepared = PQresultStatus(prep) == PGRES_COMMAND_OK;
            PQclear(prep);
        }
        const char *p[] = {request_id};
        PGresult *res = c->pg_prepared ? PQexecPrepared(c->pg, "sq_ledger_known", 1, p, NULL, NULL, 0)
                                       : PQexecParams(c->pg, ledger_sql, 1, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            *known = PQntuples(res) > 0;
            rc = 0;
        } else {
            sq_err_set(err, SQ_INTERNAL, "postgres: %s", PQresultErrorMessage(res));
            if (PQstatus(c->pg) == CONNECTION_BAD)
                sq_pool_drop_pg(c);
        }
        PQclear(res);
    }
    sq_pool_release(&w->pool, c);
    return rc;
}

static const char *str_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int sq_pg_handoff_upsert(sq_worker *w, const char *sandbox_id, const json_t *data, sq_err *err)
{
    char *text = json_dumps(data, JSON_COMPACT);
    char req_at[32], exp_at[32];
    snprintf(req_at, sizeof req_at, "%lld", (long long)json_integer_value(json_object_get(data, "requestedAt")));
    snprintf(exp_at, sizeof exp_at, "%lld", (long long)json_integer_value(json_object_get(data, "expiresAt")));
    const char *p[] = {str_of(data, "handoffId"),   sandbox_id, str_of(data, "status"), str_of(data, "reason"),
                       str_of(data, "requestedBy"), str_of(data, "controller"), str_of(data, "controlMode"),
                       text, req_at, json_object_get(data, "expiresAt") ? exp_at : NULL};
    _Static_assert(sizeof p / sizeof *p == SQ_SQL_HANDOFF_UPSERT_PARAMS, "parameters of SQ_SQL_HANDOFF_UPSERT");
    int rc = exec(w, err, SQ_SQL_HANDOFF_UPSERT, SQ_SQL_HANDOFF_UPSERT_PARAMS, p);
    free(text);
    return rc;
}
