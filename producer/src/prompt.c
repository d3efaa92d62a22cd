/* prompt.c — the agent calls of libsandq: sandq_prompt_async / _wait (a
 * task.agent followed through its progress to its answer) and
 * sandq_agent_transcript (the redacted transcript the worker keeps in
 * PostgreSQL, one short-lived connection per call). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/ids.h"

#define DEFAULT_WAIT_MS (31 * 60 * 1000) /* the worker's default agent timeout (30 min) and a minute */

typedef struct progress_ctx {
    sandq_progress_fn fn;
    void *user;
} progress_ctx;

static void on_progress(void *user, const json_t *data)
{
    progress_ctx *p = user;
    char *s = json_dumps(data, JSON_COMPACT);
    if (s)
        p->fn(p->user, s);
    free(s);
}

sandq_code sandq_prompt_async(sandq_client_t *c, const char *sandbox_id, const char *prompt,
                              const sandq_prompt_opts *opts, sandq_task_t **task, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !sandbox_id || !prompt || !task)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, sandbox_id, prompt and task must not be NULL");
    *task = NULL;
    if (!*prompt)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "prompt is empty");
    sandq_prompt_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_prompt_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    if (o.agent && strcmp(o.agent, "build") != 0 && strcmp(o.agent, "plan") != 0)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "agent must be \"build\" or \"plan\", not \"%s\"", o.agent);
    if (o.max_steps < 0 || o.max_steps > 1000)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "max_steps must be 1..1000 (0: the worker's default)");
    json_t *body = json_pack("{s:s}", "prompt", prompt);
    if (!body)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "prompt is not UTF-8 text");
    if (o.agent)
        json_object_set_new(body, "agent", json_string(o.agent));
    if (o.model)
        json_object_set_new(body, "model", json_string(o.model));
    if (o.max_steps > 0)
        json_object_set_new(body, "maxSteps", json_integer(o.max_steps));
    if (o.timeout_ms > 0)
        json_object_set_new(body, "timeoutMs", json_integer(o.timeout_ms));
    json_t *metadata = sqp_kv_object(o.metadata, "metadata", err);
    if (!metadata) {
        json_decref(body);
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    }
    sandq_code rc = sqp_task_start(c, sandbox_id, "task.agent", body, metadata, task, err);
    if (rc || !o.on_progress)
        return rc;
    /* The callback and its argument live with the task state, which frees
     * them (sqp_taskstate_free: progress_owned). */
    sqp_taskstate *ts = sqp_task_state(*task);
    ts->on_progress = NULL;
    progress_ctx *p = malloc(sizeof *p);
    if (!p) {
        sandq_task_free(*task);
        *task = NULL;
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    *p = (progress_ctx){o.on_progress, o.user};
    ts->on_progress = on_progress;
    ts->progress_user = p;
    ts->progress_owned = true;
    return SANDQ_OK;
}

sandq_code sandq_prompt_wait(sandq_task_t *task, int64_t timeout_ms, char **result_json, sandq_error *err)
{
    if (result_json)
        *result_json = NULL;
    sandq_code rc = sandq_task_wait(task, timeout_ms, NULL, err);
    if (rc || !result_json)
        return rc;
    sqp_taskstate *ts = sqp_task_state(task);
    *result_json = ts->result ? json_dumps(ts->result, JSON_COMPACT) : strdup("{}");
    return *result_json ? SANDQ_OK : sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
}

sandq_code sandq_prompt(sandq_client_t *c, const char *sandbox_id, const char *prompt, const sandq_prompt_opts *opts,
                        char **result_json, sandq_error *err)
{
    sandq_prompt_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_prompt_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    sandq_task_t *t;
    sandq_code rc = sandq_prompt_async(c, sandbox_id, prompt, &o, &t, err);
    if (rc)
        return rc;
    int64_t wait = o.wait_ms > 0 ? o.wait_ms : o.timeout_ms > 0 ? o.timeout_ms + 30000 : DEFAULT_WAIT_MS;
    rc = sandq_prompt_wait(t, wait, result_json, err);
    sandq_task_free(t);
    return rc;
}

sandq_code sandq_agent_transcript(sandq_client_t *c, const char *task_id, char **json, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and json must not be NULL");
    *json = NULL;
    if (!task_id || !sq_id_valid(task_id, "tsk"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a task id", task_id ? task_id : "(null)");
    PGconn *db;
    sandq_code crc = sqp_pg_connect(c, &db, err);
    if (crc)
        return crc;
    const char *p[] = {task_id};
    PGresult *res = PQexecParams(
        db,
        "SELECT json_build_object('taskId', a.task_id, 'sandboxId', a.sandbox_id, 'agent', a.agent, 'model', "
        "a.model, 'steps', a.steps, 'createdAt', (extract(epoch FROM a.created_at) * 1000)::bigint, 'transcript', "
        "a.transcript)::text, s.tenant FROM agent_transcripts a LEFT JOIN sandboxes s ON s.id = a.sandbox_id "
        "WHERE a.task_id = $1",
        1, NULL, p, NULL, NULL, 0);
    sandq_code rc = SANDQ_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = sqp_pg_fail(err, db, res, "reading agent_transcripts");
    else if (PQntuples(res) == 0)
        rc = sqp_fail(err, SANDQ_E_NOT_FOUND, "no transcript for task %s (an agent task's is written when it ends)",
                      task_id);
    else if (!PQgetisnull(res, 0, 1) && strcmp(PQgetvalue(res, 0, 1), c->tenant) != 0)
        rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "task %s belongs to another tenant's sandbox", task_id);
    else if (!(*json = strdup(PQgetvalue(res, 0, 0))))
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    PQclear(res);
    PQfinish(db);
    return rc;
}
