/* document.c — sandq_document_convert: one task.document, its
 * sandbox.document.converted's fields returned (the result of the completed
 * task carries the same). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_WAIT_MS 150000 /* the worker's default conversion timeout (120 s) and room */

static void copy_str(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_string_value(v) ? json_string_value(v) : "");
}

sandq_code sandq_document_convert(sandq_client_t *c, const char *sandbox_id, const char *input, const char *to,
                                  const sandq_document_opts *opts, sandq_document_result *result, sandq_error *err)
{
    sqp_err_clear(err);
    if (result)
        memset(result, 0, sizeof *result);
    if (!c || !sandbox_id || !input || !to)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, sandbox_id, input and to must not be NULL");
    sandq_document_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_document_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    json_t *body = json_pack("{s:s, s:s}", "input", input, "to", to);
    if (!body)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "input and to must be UTF-8");
    if (o.outdir)
        json_object_set_new(body, "outdir", json_string(o.outdir));
    if (o.timeout_ms > 0)
        json_object_set_new(body, "timeoutMs", json_integer(o.timeout_ms));
    int64_t wait = o.wait_ms > 0 ? o.wait_ms : o.timeout_ms > 0 ? o.timeout_ms + 30000 : DEFAULT_WAIT_MS;
    sqp_taskstate ts;
    sandq_code rc = sqp_run_task(c, sandbox_id, "task.document", body, wait, false, NULL, NULL, &ts, err);
    if (rc == SANDQ_OK && result) {
        const json_t *r = ts.result;
        copy_str(result->output, sizeof result->output, json_object_get(r, "output"));
        copy_str(result->from, sizeof result->from, json_object_get(r, "from"));
        copy_str(result->format, sizeof result->format, json_object_get(r, "format"));
        copy_str(result->sha256, sizeof result->sha256, json_object_get(r, "sha256"));
        result->size_bytes = json_integer_value(json_object_get(r, "sizeBytes"));
        result->duration_ms = json_integer_value(json_object_get(r, "durationMs"));
    }
    sqp_taskstate_free(&ts);
    return rc;
}
