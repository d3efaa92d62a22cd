/* document.c — task.document, the documents capability (docs/documents.md):
 * convert a file of the workspace with LibreOffice (or pdftotext for PDF →
 * text) run inside the sandbox like a task.exec command, so its CPU and
 * memory count against the sandbox and a kill, task.cancel or timeout stops
 * it. The formats and the plan are caps/documents/formats.h (pure), the
 * command and the output's checks caps/documents/convert.h. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps/documents/convert.h"
#include "caps/documents/formats.h"
#include "caps/documents/output_log.h"
#include "handlers/exec_run.h"
#include "handlers/handlers.h"
#include "handlers/route.h"
#include "handlers/ws_fs.h"
#include "lifecycle/task.h"
#include "notify/emit.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "sq/workspace_path.h"

#define REL_MAX 4200

/* A task.document's paths (workspace-relative, normalized) and its plan. */
typedef struct doc_req {
    char in_rel[REL_MAX];
    char outdir_rel[REL_MAX];
    char out_rel[REL_MAX + 32];
    sq_doc_plan plan;
    int64_t timeout_ms;
} doc_req;

/* Everything that can be judged from the request alone: the paths stay in
 * the workspace, the input's format and `to` are a supported pair. */
static int resolve(const json_t *body, doc_req *d, sq_err *why)
{
    const char *input = json_string_value(json_object_get(body, "input"));
    const char *to = json_string_value(json_object_get(body, "to"));
    const char *outdir = json_string_value(json_object_get(body, "outdir"));
    if (sq_workspace_path(input, "body.input", d->in_rel, sizeof d->in_rel, why) < 0)
        return -1;
    if (strcmp(d->in_rel, ".") == 0)
        return sq_err_field(why, SQ_INVALID_REQUEST, "body.input", "input names the workspace, not a file");
    if (sq_doc_plan_for(d->in_rel, to, &d->plan, why) < 0)
        return -1;
    if (outdir) {
        if (sq_workspace_path(outdir, "body.outdir", d->outdir_rel, sizeof d->outdir_rel, why) < 0)
            return -1;
    } else {
        sq_doc_dirname(d->in_rel, d->outdir_rel, sizeof d->outdir_rel);
    }
    if (sq_doc_output_path(d->outdir_rel, d->in_rel, d->plan.to, d->out_rel, sizeof d->out_rel, why) < 0)
        return -1;
    if (strcmp(d->out_rel, d->in_rel) == 0) /* pdftotext of x.txt? no such pair; a guard all the same */
        return sq_err_field(why, SQ_INVALID_REQUEST, "body.outdir", "the output would overwrite the input");
    const json_t *tm = json_object_get(body, "timeoutMs");
    d->timeout_ms = tm ? json_integer_value(tm) : SQ_DOC_DEFAULT_TIMEOUT_MS;
    return 0;
}

static void abs_path(const char *rel, char *out, size_t size)
{
    if (strcmp(rel, ".") == 0)
        snprintf(out, size, SQ_WORKSPACE_ROOT);
    else
        snprintf(out, size, SQ_WORKSPACE_ROOT "/%s", rel);
}

static void collect(void *user, int stream, const char *data, size_t len)
{
    (void)stream;
    sq_doc_log_add(user, data, len);
}

/* The one place where the task has produced its output file: it is announced
 * (sandbox.document.converted, before the task's completed event), becomes
 * the task's result, and is exported as an artifact when the task ends
 * (`produced`: lifecycle/task.c, docs/artifacts.md). */
static int output_produced(sq_task *t, const doc_req *d, const char *in_abs, const char *out_abs, int64_t size,
                           const char *sha256, int64_t duration_ms, sq_task_outcome *out, sq_err *err)
{
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "input", in_abs, "output", out_abs, "from",
                             d->plan.from, "format", d->plan.to, "sizeBytes", (json_int_t)size, "sha256", sha256,
                             "durationMs", (json_int_t)duration_ms);
    out->result = json_deep_copy(data);
    if (strncmp(out_abs, "/workspace/", 11) == 0)
        out->produced = json_pack("[s]", out_abs + 11);
    sq_emit_target target = sq_target_of(t->sb);
    return sq_emit(t->w, &target, t->req, t->req->task_id, "sandbox.document.converted", data, err);
}

/* Whether the converter said it could not read its input: soffice exits 0
 * then ("Error: source file could not be loaded") and writes nothing;
 * pdftotext exits 1 (cannot open or parse the PDF) or 3 (its permissions
 * forbid copying the text). */
static bool unreadable_input(const doc_req *d, int exit_code, const sq_doc_log *log)
{
    if (d->plan.tool == SQ_DOC_PDFTOTEXT)
        return exit_code == 1 || exit_code == 3;
    return strstr(log->buf, "source file could not be loaded") != NULL;
}

/* The converter ran to its end (exit code in out) without producing what it
 * should have: say why in terms of the request. */
static void explain_failure(const doc_req *d, const char *in_abs, const char *out_abs, const sq_doc_log *log,
                            const sq_err *missing, sq_task_outcome *out)
{
    char last[512];
    sq_doc_log_last(log, last, sizeof last);
    const char *tool = d->plan.tool == SQ_DOC_SOFFICE ? "LibreOffice" : "pdftotext";
    out->reason = "conversion_failed";
    if (out->exit_code == 125) {
        sq_err_field(&out->failure, SQ_INVALID_REQUEST, "body.outdir", "the output directory could not be made: %s",
                     last[0] ? last : "mkdir failed");
    } else if (out->exit_code == 126 || out->exit_code == 127) {
        /* Found at start-up, gone now (uninstalled under a running worker). */
        sq_err_set(&out->failure, SQ_INTERNAL, "%s could not be started in the sandbox: %s", tool,
                   last[0] ? last : "not found");
        out->reason = NULL;
    } else if (out->exit_code > 128) {
        sq_err_set(&out->failure, SQ_INTERNAL, "%s was killed by signal %d while converting %s%s%s", tool,
                   out->exit_code - 128, in_abs, last[0] ? ": " : "", last);
    } else if (unreadable_input(d, out->exit_code, log)) {
        sq_err_field(&out->failure, SQ_INVALID_REQUEST, "body.input",
                     "%s could not convert %s from %s to %s (%s): the file is damaged or is not a %s document", tool,
                     in_abs, d->plan.from, d->plan.to, last[0] ? last : "no output was written", d->plan.from);
    } else if (out->exit_code != 0 || missing->code == SQ_NOT_FOUND) {
        /* It read the input but could not write (a directory the sandbox made
         * read-only, a full disk): its own words say which. */
        sq_err_field(&out->failure, SQ_INVALID_REQUEST, "body.outdir", "%s wrote no output %s (%s)", tool, out_abs,
                     last[0] ? last : out->exit_code ? "it failed" : "it exited 0");
    } else {
        out->failure = *missing; /* an output that is not a regular file, or escapes the workspace */
        out->reason = NULL;
    }
}

static void document_body(sq_task *t, sq_task_outcome *out)
{
    doc_req *d = calloc(1, sizeof *d);
    sq_doc_command *cmd = calloc(1, sizeof *cmd);
    sq_doc_log *log = calloc(1, sizeof *log);
    char *paths = malloc(3 * (REL_MAX + 64));
    if (!d || !cmd || !log || !paths) {
        sq_err_set(&out->failure, SQ_INTERNAL, "out of memory");
        goto done;
    }
    if (resolve(t->req->body, d, &out->failure) < 0) /* checked by the handler already */
        goto done;
    /* The input must be a regular file beneath the workspace (a symlink out of
     * it is path_outside_workspace, a FIFO invalid_request). */
    struct stat st;
    int fd = sq_ws_open_regular(t->sb->workspace_fd, d->in_rel, O_RDONLY, 0, &st, &out->failure);
    if (fd < 0) {
        snprintf(out->failure.field, sizeof out->failure.field, "body.input");
        goto done;
    }
    close(fd);
    char *in_abs = paths, *outdir_abs = paths + REL_MAX + 64, *out_abs = paths + 2 * (REL_MAX + 64);
    abs_path(d->in_rel, in_abs, REL_MAX + 64);
    abs_path(d->outdir_rel, outdir_abs, REL_MAX + 64);
    abs_path(d->out_rel, out_abs, REL_MAX + 64);
    sq_doc_command_build(cmd, &d->plan, t->sb->id, in_abs, outdir_abs, out_abs);

    sq_task_command c = {.argv = cmd->argv, .envp = cmd->envp, .timeout_ms = d->timeout_ms, .on_output = collect,
                         .user = log};
    int64_t t0 = sq_mono_ms();
    sq_task_exec_command(t, &c, out);
    int64_t duration = sq_mono_ms() - t0;
    if (out->failure.code != SQ_OK) /* canceled, killed with the sandbox, timed out, OOM-killed */
        goto done;

    int64_t size = 0;
    char sha[65] = "";
    sq_err missing = {0};
    if (out->exit_code != 0 || sq_doc_output_stat(t->sb->workspace_fd, d->out_rel, &size, sha, &missing) < 0) {
        explain_failure(d, in_abs, out_abs, log, &missing, out);
        goto done;
    }
    sq_log_ctx lc = {.sandbox_id = t->sb->id, .request_id = t->req->request_id};
    sq_info(&lc, "converted %s to %s (%lld bytes) in %lld ms", in_abs, out_abs, (long long)size, (long long)duration);
    sq_err err;
    if (output_produced(t, d, in_abs, out_abs, size, sha, duration, out, &err) < 0)
        out->failure = err;
done:
    free(d);
    free(cmd);
    free(log);
    free(paths);
}

int sq_handle_document(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    if (!json_is_true(json_object_get(sb->capabilities, "documents"))) {
        sq_err_field(&why, SQ_CAPABILITY_DISABLED, "type",
                     "this sandbox was created without capabilities.documents {libreofficeHeadless: true}");
        return sq_route_reject(w, sb, req, &why, err);
    }
    doc_req *d = calloc(1, sizeof *d);
    if (!d)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    int rc = resolve(req->body, d, &why);
    free(d);
    if (rc < 0)
        return sq_route_reject(w, sb, req, &why, err);
    json_t *summary = json_pack("{s:O?, s:O?, s:O?}", "input", json_object_get(req->body, "input"), "to",
                                json_object_get(req->body, "to"), "outdir", json_object_get(req->body, "outdir"));
    return sq_task_run(w, sb, req, summary, document_body, err);
}
