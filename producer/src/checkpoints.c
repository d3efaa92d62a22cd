/* checkpoints.c — sandq_checkpoint_create, sandq_checkpoint_restore and
 * sandq_checkpoints_list: one checkpoint task each, the result as JSON text. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_WAIT_MS 600000

static sandq_code run(sandq_client_t *c, const char *sandbox_id, const char *type, json_t *body,
                      const sandq_checkpoint_opts *opts, char **result_json, sandq_error *err)
{
    sqp_taskstate ts;
    sandq_code rc = sqp_run_task(c, sandbox_id, type, body, opts->wait_ms > 0 ? opts->wait_ms : DEFAULT_WAIT_MS,
                                 false, NULL, NULL, &ts, err);
    if (rc == SANDQ_OK && result_json) {
        *result_json = ts.result ? json_dumps(ts.result, JSON_COMPACT) : strdup("{}");
        if (!*result_json)
            rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    sqp_taskstate_free(&ts);
    return rc;
}

static sandq_code begin(sandq_client_t *c, const char *sandbox_id, const sandq_checkpoint_opts *opts,
                        sandq_checkpoint_opts *o, char **result_json, sandq_error *err)
{
    sqp_err_clear(err);
    if (result_json)
        *result_json = NULL;
    if (!c || !sandbox_id)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and sandbox_id must not be NULL");
    if (sqp_opts_copy(o, sizeof *o, opts, "sandq_checkpoint_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    return SANDQ_OK;
}

sandq_code sandq_checkpoint_create(sandq_client_t *c, const char *sandbox_id, const sandq_checkpoint_opts *opts,
                                   char checkpoint_id_out[SANDQ_ID_MAX], char **result_json, sandq_error *err)
{
    sandq_checkpoint_opts o;
    sandq_code rc = begin(c, sandbox_id, opts, &o, result_json, err);
    if (rc)
        return rc;
    char id[SANDQ_ID_MAX];
    if (o.checkpoint_id && o.checkpoint_id[0]) {
        if (!sq_id_valid(o.checkpoint_id, "chk"))
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "checkpoint_id must be chk_ and a ULID");
        snprintf(id, sizeof id, "%s", o.checkpoint_id);
    } else {
        sq_id_new("chk", id);
    }
    if (checkpoint_id_out)
        memcpy(checkpoint_id_out, id, SANDQ_ID_MAX);
    json_t *body = json_pack("{s:s}", "checkpointId", id);
    if (o.label)
        json_object_set_new(body, "label", json_string(o.label));
    return run(c, sandbox_id, "checkpoint.create", body, &o, result_json, err);
}

sandq_code sandq_checkpoint_restore(sandq_client_t *c, const char *sandbox_id, const char *checkpoint_id,
                                    const sandq_checkpoint_opts *opts, char **result_json, sandq_error *err)
{
    sandq_checkpoint_opts o;
    sandq_code rc = begin(c, sandbox_id, opts, &o, result_json, err);
    if (rc)
        return rc;
    if (!checkpoint_id || !sq_id_valid(checkpoint_id, "chk"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "checkpoint_id must be chk_ and a ULID");
    return run(c, sandbox_id, "checkpoint.restore", json_pack("{s:s}", "checkpointId", checkpoint_id), &o,
               result_json, err);
}

sandq_code sandq_checkpoints_list(sandq_client_t *c, const char *sandbox_id, const sandq_checkpoint_opts *opts,
                                  char **result_json, sandq_error *err)
{
    sandq_checkpoint_opts o;
    sandq_code rc = begin(c, sandbox_id, opts, &o, result_json, err);
    if (rc)
        return rc;
    return run(c, sandbox_id, "checkpoints.list", json_object(), &o, result_json, err);
}
