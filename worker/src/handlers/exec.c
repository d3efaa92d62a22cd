/* exec.c — task.exec and task.code: run a command in the sandbox and stream its
 * output as sandbox.task.output events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/exec_run.h"
#include "lifecycle/control.h"
#include "lifecycle/lifetime_tick.h"
#include "lifecycle/task.h"
#include "handlers/handlers.h"
#include "handlers/route.h"
#include "artifacts/export.h"
#include "caps/recording/redact.h"
#include "sq/clock.h"
#include "sq/codec.h"

#define MAX_ENV 600

typedef struct exec_plan {
    const char *argv[4100];
    char *envbuf[MAX_ENV];
    const char *envp[MAX_ENV + 1];
    int nenv;
    const char *cwd;
    unsigned char *stdin_data;
    size_t stdin_len;
    int64_t timeout_ms;
} exec_plan;

static void plan_free(exec_plan *p)
{
    for (int i = 0; i < p->nenv; i++)
        free(p->envbuf[i]);
    free(p->stdin_data);
}

/* Set K=V, replacing an earlier K: later layers (sandbox env, then the task's
 * env) override the defaults. */
static void env_set(exec_plan *p, const char *k, const char *v)
{
    size_t kl = strlen(k);
    char *kv = malloc(kl + strlen(v) + 2);
    if (!kv)
        return;
    sprintf(kv, "%s=%s", k, v);
    for (int i = 0; i < p->nenv; i++) {
        if (strncmp(p->envbuf[i], k, kl) == 0 && p->envbuf[i][kl] == '=') {
            free(p->envbuf[i]);
            p->envbuf[i] = kv;
            return;
        }
    }
    if (p->nenv < MAX_ENV)
        p->envbuf[p->nenv++] = kv;
    else
        free(kv);
}

static void env_layer(exec_plan *p, const json_t *env)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)env, k, v) env_set(p, k, json_string_value(v));
}

static void build_env(exec_plan *p, const sq_live_sandbox *sb, const json_t *task_env)
{
    env_set(p, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env_set(p, "HOME", "/workspace");
    env_set(p, "LANG", "C.UTF-8");
    env_set(p, "TERM", "xterm");
    env_set(p, "SANDQ_SANDBOX_ID", sb->id);
    if (sb->env)
        env_layer(p, sb->env);
    if (task_env)
        env_layer(p, task_env);
    for (int i = 0; i < p->nenv; i++)
        p->envp[i] = p->envbuf[i];
    p->envp[p->nenv] = NULL;
}

static void on_output(void *user, int stream, const char *data, size_t len)
{
    sq_task *t = user;
    sq_err err;
    /* A failed emit cannot stop the command; it is logged by emit and the
     * task's final event still reports the outcome. */
    (void)sq_task_output(t, stream == 2 ? 2 : 1, data, len, &err);
}

/* The runtime gives on_output and on_control one `user`; the control lane
 * wants the task, a caller's on_output its own pointer. */
typedef struct run_ctx {
    sq_task *t;
    const sq_task_command *c;
} run_ctx;

static void ctx_output(void *user, int stream, const char *data, size_t len)
{
    run_ctx *r = user;
    if (r->c->on_output)
        r->c->on_output(r->c->user, stream, data, len);
    else
        on_output(r->t, stream, data, len);
}

static bool ctx_control(void *user, int64_t *control_at)
{
    return sq_control_on_exec(((run_ctx *)user)->t, control_at);
}

void sq_task_exec_command(sq_task *t, const sq_task_command *c, sq_task_outcome *out)
{
    run_ctx ctx = {.t = t, .c = c};
    bool by_sandbox;
    int64_t timeout = sq_lifetime_task_timeout(t->sb, c->timeout_ms, &by_sandbox);
    sq_exec_opts opts = {
        .argv = c->argv,
        .envp = c->envp,
        .cwd = c->cwd,
        .stdin_data = c->stdin_data,
        .stdin_len = c->stdin_len,
        .timeout_ms = timeout,
        .on_output = ctx_output,
        .user = &ctx,
        /* The control lane: a kill or cancel stops the command at once; a
         * "pause" timeout freezes the sandbox under it (control.h). */
        .on_control = ctx_control,
        .wake_fd = t->sb->wake_fd,
        .control_at = sq_control_first_at(t->sb),
    };
    sq_exec_result res;
    if (sq_sandbox_exec(t->sb->runtime, &opts, &res, &out->failure) < 0) {
        out->failure.code = SQ_INTERNAL;
        return;
    }
    out->exit_code = res.exit_code;
    if (res.canceled) {
        sq_err_set(&out->failure, sq_control_stop_code(t->sb), "%s", sq_control_why_stopped(t->sb, t->req->task_id));
    } else if (res.timed_out && by_sandbox) {
        sq_err_set(&out->failure, SQ_TIMED_OUT,
                   "the sandbox reached its timeoutMs (%lld ms of running time) while the command ran; the command "
                   "was killed and the sandbox ends",
                   (long long)t->sb->lifetime.timeout_ms);
        out->reason = "sandbox_timeout";
    } else if (res.timed_out) {
        sq_err_set(&out->failure, SQ_TIMED_OUT, "the command ran longer than its timeoutMs (%lld ms) and was killed",
                   (long long)c->timeout_ms);
    } else if (res.oom_killed) {
        sq_err_set(&out->failure, SQ_LIMIT_EXCEEDED,
                   "out of memory: the command was killed by the kernel's OOM killer at the sandbox's memory limit "
                   "(limits.memoryMb %lld)",
                   (long long)t->sb->limits.memory_mb);
        out->reason = "oom_killed";
    }
}

static void run_plan(sq_task *t, exec_plan *p, sq_task_outcome *out)
{
    sq_task_command c = {.argv = p->argv, .envp = p->envp, .cwd = p->cwd, .stdin_data = p->stdin_data,
                         .stdin_len = p->stdin_len, .timeout_ms = p->timeout_ms};
    sq_task_exec_command(t, &c, out);
}

static int decode_stdin(const json_t *body, exec_plan *p, sq_err *err)
{
    const json_t *s = json_object_get(body, "stdin");
    const json_t *b = json_object_get(body, "stdinB64");
    if (s) {
        p->stdin_len = json_string_length(s);
        p->stdin_data = malloc(p->stdin_len + 1);
        if (p->stdin_data)
            memcpy(p->stdin_data, json_string_value(s), p->stdin_len);
    } else if (b) {
        p->stdin_data = malloc(json_string_length(b) / 4 * 3 + 3);
        long n = p->stdin_data ? sq_b64_decode(json_string_value(b), json_string_length(b), p->stdin_data) : -1;
        if (n < 0)
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.stdinB64", "stdinB64 is not valid base64");
        p->stdin_len = (size_t)n;
    }
    return 0;
}

static void exec_body(sq_task *t, sq_task_outcome *out)
{
    const json_t *body = t->req->body;
    exec_plan *p = calloc(1, sizeof *p);
    if (!p) {
        sq_err_set(&out->failure, SQ_INTERNAL, "out of memory");
        return;
    }
    int n = 0;
    p->argv[n++] = json_string_value(json_object_get(body, "command"));
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(body, "args"), i, a) p->argv[n++] = json_string_value(a);
    p->argv[n] = NULL;
    p->cwd = json_string_value(json_object_get(body, "cwd"));
    p->timeout_ms = json_integer_value(json_object_get(body, "timeoutMs"));
    build_env(p, t->sb, json_object_get(body, "env"));
    if (decode_stdin(body, p, &out->failure) == 0)
        run_plan(t, p, out);
    plan_free(p);
    free(p);
}

/* task.code: the code goes to the interpreter on stdin, so it is never a
 * file the user did not ask for, nor an argv that `ps` would show. */
static void code_body(sq_task *t, sq_task_outcome *out)
{
    const json_t *body = t->req->body;
    const char *lang = json_string_value(json_object_get(body, "language"));
    if (!lang)
        lang = "python";
    exec_plan *p = calloc(1, sizeof *p);
    if (!p) {
        sq_err_set(&out->failure, SQ_INTERNAL, "out of memory");
        return;
    }
    if (strcmp(lang, "python") == 0) {
        p->argv[0] = "python3";
        p->argv[1] = "-";
    } else if (strcmp(lang, "bash") == 0) {
        p->argv[0] = "bash";
        p->argv[1] = "-s";
    } else if (strcmp(lang, "javascript") == 0) {
        p->argv[0] = "node";
        p->argv[1] = "-";
    } else {
        sq_err_field(&out->failure, SQ_CAPABILITY_DISABLED, "body.language",
                     "language %s has no interpreter in this sandbox runtime", lang);
        free(p);
        return;
    }
    const json_t *code = json_object_get(body, "code");
    p->stdin_len = json_string_length(code);
    p->stdin_data = malloc(p->stdin_len + 1);
    if (p->stdin_data)
        memcpy(p->stdin_data, json_string_value(code), p->stdin_len);
    p->timeout_ms = json_integer_value(json_object_get(body, "timeoutMs"));
    build_env(p, t->sb, NULL);
    run_plan(t, p, out);
    plan_free(p);
    free(p);
}

int sq_handle_exec(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    if (sq_art_outputs_check(json_object_get(req->body, "outputs"), &why) < 0) /* issue 13 */
        return sq_route_reject(w, sb, req, &why, err);
    /* The summary keeps the command line, never the env values (secrets):
     * a value passed verbatim in argv is redacted too (caps/recording/redact.h). */
    json_t *line = json_pack("{s:O?, s:O?, s:O?}", "command", json_object_get(req->body, "command"), "args",
                             json_object_get(req->body, "args"), "cwd", json_object_get(req->body, "cwd"));
    sq_redactor r;
    json_t *summary = NULL;
    if (sq_redactor_init(&r, sb->env, json_object_get(req->body, "env")) == 0) {
        summary = sq_redact_json(&r, line);
        sq_redactor_free(&r);
    }
    json_decref(line);
    if (!summary)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    return sq_task_run(w, sb, req, summary, exec_body, err);
}

int sq_handle_code(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    if (sq_art_outputs_check(json_object_get(req->body, "outputs"), &why) < 0) /* issue 13 */
        return sq_route_reject(w, sb, req, &why, err);
    const char *lang = json_string_value(json_object_get(req->body, "language"));
    json_t *summary = json_pack("{s:s, s:i}", "language", lang ? lang : "python", "codeBytes",
                                (int)json_string_length(json_object_get(req->body, "code")));
    return sq_task_run(w, sb, req, summary, code_body, err);
}
