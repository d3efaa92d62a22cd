/* browser.c — sandq_browser_run: one task.browser, its actions given and its
 * result returned as JSON text, so a new action needs no new call here. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_WAIT_MS 90000 /* the worker's default task timeout (60 s) and room for the browser to start again */

sandq_code sandq_browser_run(sandq_client_t *c, const char *sandbox_id, const char *actions_json,
                             const sandq_browser_opts *opts, char **result_json, sandq_error *err)
{
    sqp_err_clear(err);
    if (result_json)
        *result_json = NULL;
    if (!c || !sandbox_id || !actions_json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, sandbox_id and actions_json must not be NULL");
    sandq_browser_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_browser_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    opts = &o;
    json_error_t jerr;
    json_t *actions = json_loads(actions_json, 0, &jerr);
    if (!json_is_array(actions) || json_array_size(actions) == 0) {
        sandq_code rc = sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "actions_json must be a non-empty JSON array%s%s",
                                 actions ? "" : ": ", actions ? "" : jerr.text);
        json_decref(actions);
        return rc;
    }
    json_t *body = json_pack("{s:o}", "actions", actions);
    if (opts->timeout_ms > 0)
        json_object_set_new(body, "timeoutMs", json_integer(opts->timeout_ms));
    int64_t wait = opts->wait_ms > 0 ? opts->wait_ms : opts->timeout_ms > 0 ? opts->timeout_ms + 30000 : DEFAULT_WAIT_MS;
    sqp_taskstate ts;
    sandq_code rc = sqp_run_task(c, sandbox_id, "task.browser", body, wait, false, NULL, NULL, &ts, err);
    if (rc == SANDQ_OK && result_json) {
        *result_json = ts.result ? json_dumps(ts.result, JSON_COMPACT) : strdup("{}");
        if (!*result_json)
            rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    sqp_taskstate_free(&ts);
    return rc;
}
