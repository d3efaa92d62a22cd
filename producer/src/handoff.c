/* handoff.c — sandq_handoff_request/accept/complete/cancel and
 * sandq_preview_url: publish the request with a waiter already open on the
 * sandbox's partition, then follow the sandbox's events until this request's
 * answer (a sandbox.handoff.* event, whose data is the hand-off, or
 * sandbox.preview.url) or its request.rejected; and sandq_handoff_list, the
 * sandbox's `handoffs` rows from PostgreSQL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"

typedef struct {
    const char *sandbox_id;
    const char *request_id;
    const char *what;
    const char *answer;      /* the answering event type, or a prefix ending in '.' */
    char **out;
} ho_call;

static void ho_describe(sqp_follow *f, char *what, size_t len)
{
    const ho_call *h = f->user;
    snprintf(what, len, "waiting for the %s of a hand-off on sandbox %s", h->what, h->sandbox_id);
}

static bool ho_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    const ho_call *h = f->user;
    if (!ev)
        return false;
    bool mine = strcmp(ev->request_id, h->request_id) == 0;
    bool gone = strcmp(ev->type, "sandbox.failed") == 0 || strcmp(ev->type, "sandbox.ended") == 0;
    if ((mine && strcmp(ev->type, "request.rejected") == 0) || gone) {
        *rc = sqp_fail_from_event(err, ev);
        if (err && !err->request_id[0])
            snprintf(err->request_id, sizeof err->request_id, "%s", h->request_id);
        return true;
    }
    if (mine && strncmp(ev->type, h->answer, strlen(h->answer)) == 0) {
        *rc = SANDQ_OK;
        if (h->out && !(*h->out = json_dumps(ev->data, JSON_COMPACT)))
            *rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        return true;
    }
    return false;
}

static sandq_code ho_call_answer(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                                 const char *what, const char *answer, int64_t wait_ms, char **out, sandq_error *err)
{
    int64_t started = sq_mono_ms();
    char request_id[SQ_ID_MAX] = "";
    ho_call h = {sandbox_id, request_id, what, answer, out};
    sqp_follow f = {.deadline = sqp_deadline(c, wait_ms), .started = started, .request_id = request_id,
                    .on_event = ho_event, .describe = ho_describe, .user = &h};
    return sqp_send_follow(c, sandbox_id, type, NULL, body, &f, request_id, err);
}

static sandq_code ho_call_run(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                              const char *what, int64_t wait_ms, char **out, sandq_error *err)
{
    return ho_call_answer(c, sandbox_id, type, body, what, "sandbox.handoff.", wait_ms, out, err);
}

/* Common argument checks; copies opts into *o. */
static sandq_code ho_begin(sandq_client_t *c, const char *sandbox_id, const char *handoff_id, bool id_required,
                           const sandq_handoff_opts *opts, sandq_handoff_opts *o, char **out, sandq_error *err)
{
    sqp_err_clear(err);
    if (out)
        *out = NULL;
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    if ((id_required || handoff_id) && (!handoff_id || !sq_id_valid(handoff_id, "hnd")))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a hand-off id (hnd_…)",
                        handoff_id ? handoff_id : "(null)");
    if (sqp_opts_copy(o, sizeof *o, opts, "sandq_handoff_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    return SANDQ_OK;
}

sandq_code sandq_handoff_request(sandq_client_t *c, const char *sandbox_id, const char *handoff_id,
                                 const char *reason, const char *message, const sandq_handoff_opts *opts,
                                 char **handoff_json, sandq_error *err)
{
    sandq_handoff_opts o;
    sandq_code rc = ho_begin(c, sandbox_id, handoff_id, false, opts, &o, handoff_json, err);
    if (rc)
        return rc;
    if (!reason || !message || !*message)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "reason and a non-empty message are required");
    char id[SQ_ID_MAX];
    if (handoff_id)
        snprintf(id, sizeof id, "%s", handoff_id);
    else
        sq_id_new("hnd", id);
    json_t *body = json_pack("{s:s, s:s, s:s}", "handoffId", id, "reason", reason, "message", message);
    if (o.resume_prompt)
        json_object_set_new(body, "resumePrompt", json_string(o.resume_prompt));
    if (o.expires_in_ms > 0)
        json_object_set_new(body, "expiresInMs", json_integer(o.expires_in_ms));
    if (o.requested_by)
        json_object_set_new(body, "requestedBy", json_string(o.requested_by));
    return ho_call_run(c, sandbox_id, "handoff.request", body, "request", o.wait_ms, handoff_json, err);
}

sandq_code sandq_handoff_accept(sandq_client_t *c, const char *sandbox_id, const char *handoff_id,
                                const char *controller, const sandq_handoff_opts *opts, char **handoff_json,
                                sandq_error *err)
{
    sandq_handoff_opts o;
    sandq_code rc = ho_begin(c, sandbox_id, handoff_id, true, opts, &o, handoff_json, err);
    if (rc)
        return rc;
    if (!controller || !*controller)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "controller (who takes over) is required");
    json_t *body = json_pack("{s:s, s:s}", "handoffId", handoff_id, "controller", controller);
    if (o.control_mode)
        json_object_set_new(body, "controlMode", json_string(o.control_mode));
    return ho_call_run(c, sandbox_id, "handoff.accept", body, "accept", o.wait_ms, handoff_json, err);
}

sandq_code sandq_handoff_complete(sandq_client_t *c, const char *sandbox_id, const char *handoff_id,
                                  const sandq_handoff_opts *opts, char **handoff_json, sandq_error *err)
{
    sandq_handoff_opts o;
    sandq_code rc = ho_begin(c, sandbox_id, handoff_id, true, opts, &o, handoff_json, err);
    if (rc)
        return rc;
    json_t *body = json_pack("{s:s}", "handoffId", handoff_id);
    if (o.note)
        json_object_set_new(body, "note", json_string(o.note));
    return ho_call_run(c, sandbox_id, "handoff.complete", body, "completion", o.wait_ms, handoff_json, err);
}

sandq_code sandq_handoff_cancel(sandq_client_t *c, const char *sandbox_id, const char *handoff_id,
                                const sandq_handoff_opts *opts, char **handoff_json, sandq_error *err)
{
    sandq_handoff_opts o;
    sandq_code rc = ho_begin(c, sandbox_id, handoff_id, true, opts, &o, handoff_json, err);
    if (rc)
        return rc;
    json_t *body = json_pack("{s:s}", "handoffId", handoff_id);
    return ho_call_run(c, sandbox_id, "handoff.cancel", body, "cancellation", o.wait_ms, handoff_json, err);
}

sandq_code sandq_handoff_list(sandq_client_t *c, const char *sandbox_id, char **handoffs_json, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !handoffs_json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and handoffs_json must not be NULL");
    *handoffs_json = NULL;
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *vals[] = {c->database_url, "5", NULL};
    PGconn *db = PQconnectdbParams(keys, vals, 1);
    sandq_code rc = SANDQ_OK;
    PGresult *res = NULL;
    if (!db || PQstatus(db) != CONNECTION_OK) {
        rc = sqp_fail(err, SANDQ_E_DATABASE, "cannot connect to PostgreSQL: %s",
                      db ? PQerrorMessage(db) : "out of memory");
        goto done;
    }
    const char *p[] = {sandbox_id};
    res = PQexecParams(db, "SELECT tenant FROM sandboxes WHERE id = $1", 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sqp_fail(err, SANDQ_E_DATABASE, "reading sandboxes: %s", PQresultErrorMessage(res));
        goto done;
    }
    if (PQntuples(res) == 0) {
        rc = sqp_fail(err, SANDQ_E_SANDBOX_NOT_FOUND, "no sandbox %s in PostgreSQL", sandbox_id);
        goto done;
    }
    if (strcmp(PQgetvalue(res, 0, 0), c->tenant) != 0) {
        rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "sandbox %s belongs to another tenant", sandbox_id);
        goto done;
    }
    PQclear(res);
    res = PQexecParams(db,
                       "SELECT coalesce(json_agg(data ORDER BY requested_at, handoff_id), '[]')::text "
                       "FROM handoffs WHERE sandbox_id = $1",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = sqp_fail(err, SANDQ_E_DATABASE, "reading handoffs: %s", PQresultErrorMessage(res));
        goto done;
    }
    if (!(*handoffs_json = strdup(PQgetvalue(res, 0, 0))))
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
done:
    PQclear(res);
    PQfinish(db);
    return rc;
}

sandq_code sandq_preview_url(sandq_client_t *c, const char *sandbox_id, const sandq_preview_opts *opts, char **url,
                             int64_t *expires_at, sandq_error *err)
{
    sqp_err_clear(err);
    if (url)
        *url = NULL;
    if (expires_at)
        *expires_at = 0;
    if (!c || !url)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and url must not be NULL");
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    sandq_preview_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_preview_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    if (o.ttl_ms < 0 || o.ttl_ms > 86400000)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "ttl_ms is at most 24 h");
    json_t *body = json_pack("{s:s}", "mode", o.control ? "control" : "view");
    if (o.ttl_ms > 0)
        json_object_set_new(body, "ttlMs", json_integer(o.ttl_ms));
    char *data = NULL;
    sandq_code rc = ho_call_answer(c, sandbox_id, "preview.url", body, "preview URL", "sandbox.preview.url",
                                   o.wait_ms, &data, err);
    if (rc)
        return rc;
    json_t *d = json_loads(data, 0, NULL);
    free(data);
    const char *u = json_string_value(json_object_get(d, "url"));
    if (!u)
        rc = sqp_fail(err, SANDQ_E_PROTOCOL, "sandbox.preview.url without a url");
    else if (!(*url = strdup(u)))
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    if (rc == SANDQ_OK && expires_at)
        *expires_at = json_integer_value(json_object_get(d, "expiresAt"));
    json_decref(d);
    return rc;
}
