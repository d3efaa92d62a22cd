/* tools.c — see tools.h. */
#include "caps/agent/tools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps/agent/handoff_tool.h"
#include "caps/agent/rules.h"
#include "caps/browser/actions.h"
#include "handlers/ws_fs.h"
#include "lifecycle/control.h"
#include "sq/clock.h"
#include "sq/workspace_path.h"

#define BASH_DEFAULT_MS 120000
#define BASH_MAX_MS 600000
#define SEARCH_MS 30000
#define READ_MAX_BYTES (4u << 20)    /* read and edit load at most this much of a file */
#define READ_LINES 2000
#define LINE_MAX_CHARS 2000

typedef struct cmd_out {
    sq_headtail ht;
    sq_headtail err;   /* stderr kept apart for grep and find, whose stderr is the error */
    bool split;
} cmd_out;

static void on_output(void *user, int stream, const char *data, size_t len)
{
    cmd_out *o = user;
    if (o->split && stream == 2)
        sq_headtail_add(&o->err, data, len);
    else
        sq_headtail_add(&o->ht, data, len);
}

/* One command's callbacks: the control lane is asked about the task (kill,
 * cancel, a pause timeout: lifecycle/control.h), the output goes to the
 * collector. */
typedef struct run_ctx {
    sq_task *t;
    cmd_out *out;
} run_ctx;

static bool on_control(void *user, int64_t *at)
{
    run_ctx *r = user;
    return sq_control_on_exec(r->t, at);
}

static void on_out(void *user, int stream, const char *data, size_t len)
{
    run_ctx *r = user;
    on_output(r->out, stream, data, len);
}

static int out_init(sq_agent_tools_ctx *c, cmd_out *o, bool split);

/* Run argv in the sandbox with a timeout bounded by the task's deadline,
 * collecting its output in o (freed with out_free, whatever happens). When
 * the collector cannot be made, *text says so and SQ_TOOL_OK is returned
 * with nothing run. */
static sq_tool_status run_cmd(sq_agent_tools_ctx *c, const char *const *argv, int64_t timeout_ms, bool split,
                              cmd_out *o, sq_exec_result *res, bool *by_task, char **text, sq_err *fail)
{
    if (out_init(c, o, split) < 0) {
        *text = strdup("Error: out of memory");
        return SQ_TOOL_OK;
    }
    int64_t left = c->deadline - sq_mono_ms();
    if (left < 1)
        return SQ_TOOL_TIMED_OUT;
    *by_task = left <= timeout_ms;
    run_ctx r = {.t = c->t, .out = o};
    sq_exec_opts opts = {
        .argv = argv,
        .envp = c->envp,
        .cwd = "/workspace",
        .timeout_ms = *by_task ? left : timeout_ms,
        .on_output = on_out,
        .user = &r,
        .on_control = on_control,
        .wake_fd = c->t->sb->wake_fd,
        .control_at = sq_control_first_at(c->t->sb),
    };
    if (sq_sandbox_exec(c->t->sb->runtime, &opts, res, fail) < 0)
        return SQ_TOOL_BROKEN;
    if (res->canceled)
        return SQ_TOOL_STOPPED;
    if (res->timed_out && *by_task)
        return SQ_TOOL_TIMED_OUT;
    return SQ_TOOL_OK;
}

static char *finish_text(sq_agent_tools_ctx *c, const char *s)
{
    char *r = sq_agent_redact(s, c->secrets);
    return r ? r : strdup("");
}

static char *out_text(sq_agent_tools_ctx *c, const sq_headtail *h)
{
    size_t n = 0;
    char *raw = sq_headtail_text(h, &n);
    /* Binary output, or a character the cut split: '?' instead, so the text
     * is one C string (no NUL) and valid JSON for the model. */
    if (raw)
        sq_agent_utf8_sanitize(raw, n);
    char *r = finish_text(c, raw ? raw : "");
    free(raw);
    return r;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s ? s : strdup("");
}

static int out_init(sq_agent_tools_ctx *c, cmd_out *o, bool split)
{
    memset(o, 0, sizeof *o);
    o->split = split;
    if (sq_headtail_init(&o->ht, c->output_max / 2, c->output_max - c->output_max / 2) < 0 ||
        sq_headtail_init(&o->err, 2048, 2048) < 0)
        return -1;
    return 0;
}

static void out_free(cmd_out *o)
{
    sq_headtail_free(&o->ht);
    sq_headtail_free(&o->err);
}

static sq_tool_status tool_bash(sq_agent_tools_ctx *c, const json_t *args, char **text, sq_err *fail)
{
    const char *cmd = json_string_value(json_object_get(args, "command"));
    const json_t *tv = json_object_get(args, "timeout");
    int64_t timeout = json_is_integer(tv) ? json_integer_value(tv) : BASH_DEFAULT_MS;
    if (timeout < 1)
        timeout = BASH_DEFAULT_MS;
    if (timeout > BASH_MAX_MS)
        timeout = BASH_MAX_MS;
    const char *argv[] = {"bash", "-c", cmd, NULL};
    cmd_out o;
    sq_exec_result res;
    bool by_task;
    sq_tool_status st = run_cmd(c, argv, timeout, false, &o, &res, &by_task, text, fail);
    if (st == SQ_TOOL_OK && !*text) {
        char *body = out_text(c, &o.ht);
        if (res.timed_out)
            *text = fmt("%s\n[the command timed out after %lld ms; its process group was killed]", body,
                        (long long)timeout);
        else if (res.oom_killed)
            *text = fmt("%s\n[the command was killed: out of memory at the sandbox's memory limit]", body);
        else if (res.exit_code != 0)
            *text = fmt("%s\n[exit code %d]", body, res.exit_code);
        else
            *text = o.ht.total ? strdup(body) : strdup("[no output; exit code 0]");
        free(body);
    }
    out_free(&o);
    return st;
}

/* A path argument → rel beneath the workspace, or a message for the model. */
static int tool_path(const json_t *args, const char *key, char *rel, size_t n, char **text)
{
    const char *p = json_string_value(json_object_get(args, key));
    sq_err why;
    if (sq_workspace_path(p && *p ? p : ".", key, rel, n, &why) < 0) {
        *text = fmt("Error: %s: paths must be inside /workspace", why.msg);
        return -1;
    }
    return 0;
}

static void abs_path(const char *rel, char *out, size_t n)
{
    if (strcmp(rel, ".") == 0)
        snprintf(out, n, "%s", SQ_WORKSPACE_ROOT);
    else
        snprintf(out, n, "%s/%s", SQ_WORKSPACE_ROOT, rel);
}

/* Load a regular file of the workspace, at most READ_MAX_BYTES. */
static int load(sq_agent_tools_ctx *c, const char *rel, int flags, int *fd_out, char **buf, size_t *len,
                bool *whole, char **text)
{
    struct stat st;
    sq_err why;
    int fd = sq_ws_open_regular(c->t->sb->workspace_fd, rel, flags, 0, &st, &why);
    if (fd < 0) {
        *text = fmt("Error: %s", why.msg);
        return -1;
    }
    size_t want = st.st_size > (off_t)READ_MAX_BYTES ? READ_MAX_BYTES : (size_t)st.st_size;
    char *b = malloc(want + 1);
    size_t got = 0;
    while (b && got < want) {
        ssize_t r = pread(fd, b + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (!b) {
        close(fd);
        *text = strdup("Error: out of memory");
        return -1;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    *whole = st.st_size <= (off_t)READ_MAX_BYTES;
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return 0;
}

static sq_tool_status tool_read(sq_agent_tools_ctx *c, const json_t *args, char **text)
{
    char rel[4200];
    if (tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    char *buf;
    size_t len;
    bool whole;
    if (load(c, rel, O_RDONLY, NULL, &buf, &len, &whole, text) < 0)
        return SQ_TOOL_OK;
    if (memchr(buf, '\0', len < 8192 ? len : 8192)) {
        free(buf);
        *text = fmt("Error: /workspace/%s is a binary file; read refuses it (use bash, e.g. xxd or file)", rel);
        return SQ_TOOL_OK;
    }
    const json_t *ov = json_object_get(args, "offset"), *lv = json_object_get(args, "limit");
    int64_t first = json_is_integer(ov) && json_integer_value(ov) > 0 ? json_integer_value(ov) : 1;
    int64_t limit = json_is_integer(lv) && json_integer_value(lv) > 0 ? json_integer_value(lv) : READ_LINES;
    sq_headtail h;
    if (sq_headtail_init(&h, c->output_max, 0) < 0) {
        free(buf);
        *text = strdup("Error: out of memory");
        return SQ_TOOL_OK;
    }
    int64_t line = 1, shown = 0;
    const char *p = buf, *end = buf + len;
    while (p < end && shown < limit) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (line >= first) {
            char num[32];
            int k = snprintf(num, sizeof num, "%6lld\t", (long long)line);
            sq_headtail_add(&h, num, (size_t)k);
            sq_headtail_add(&h, p, l > LINE_MAX_CHARS ? LINE_MAX_CHARS : l);
            if (l > LINE_MAX_CHARS)
                sq_headtail_add(&h, " [line cut]", 11);
            sq_headtail_add(&h, "\n", 1);
            shown++;
        }
        line++;
        p = nl ? nl + 1 : end;
    }
    size_t blen = 0;
    char *body = sq_headtail_text(&h, &blen);
    if (body) /* a file that is not UTF-8 text (Latin-1, a NUL past the first 8 KiB) */
        sq_agent_utf8_sanitize(body, blen);
    char *red = finish_text(c, body ? body : "");
    bool more = p < end || !whole;
    if (shown == 0)
        *text = fmt("[the file has %lld lines; nothing at offset %lld]", (long long)(line - 1), (long long)first);
    else if (more)
        *text = fmt("%s[more lines follow: read again with offset %lld]", red, (long long)line);
    else
        *text = strdup(red);
    free(red);
    free(body);
    sq_headtail_free(&h);
    free(buf);
    return SQ_TOOL_OK;
}

static int write_all(int fd, const char *b, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, b + done, n - done, (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        done += (size_t)w;
    }
    return ftruncate(fd, (off_t)n);
}

static char *write_error(const char *rel)
{
    if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG)
        return fmt("Error: the workspace is full; /workspace/%s was not written completely", rel);
    return fmt("Error: writing /workspace/%s failed: %s", rel, strerror(errno));
}

static sq_tool_status tool_write(sq_agent_tools_ctx *c, const json_t *args, char **text)
{
    char rel[4200];
    if (tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    const json_t *cv = json_object_get(args, "content");
    sq_live_sandbox *sb = c->t->sb;
    sq_err why;
    struct stat st;
    if (sq_ws_mkdir_parents(sb->workspace_fd, rel, sb->host_uid, sb->host_gid, &why) < 0) {
        *text = fmt("Error: %s", why.msg);
        return SQ_TOOL_OK;
    }
    int fd = sq_ws_open_regular(sb->workspace_fd, rel, O_WRONLY | O_CREAT, 0644, &st, &why);
    if (fd < 0) {
        *text = fmt("Error: %s", why.msg);
        return SQ_TOOL_OK;
    }
    /* A file the worker just created belongs to host root: hand it to the sandbox. */
    if (st.st_uid == 0 && fchown(fd, sb->host_uid, sb->host_gid) < 0) {
        *text = fmt("Error: chown /workspace/%s: %s", rel, strerror(errno));
    } else if (write_all(fd, json_string_value(cv), json_string_length(cv)) < 0) {
        *text = write_error(rel);
    } else {
        *text = fmt("Wrote %zu bytes to /workspace/%s", json_string_length(cv), rel);
        json_object_set_new(c->written, rel, json_true());
    }
    close(fd);
    return SQ_TOOL_OK;
}

static sq_tool_status tool_edit(sq_agent_tools_ctx *c, const json_t *args, char **text)
{
    char rel[4200];
    if (tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    char *buf;
    size_t len;
    bool whole;
    int fd;
    if (load(c, rel, O_RDWR, &fd, &buf, &len, &whole, text) < 0)
        return SQ_TOOL_OK;
    if (!whole) {
        *text = fmt("Error: /workspace/%s is larger than %u bytes; edit it with bash instead", rel, READ_MAX_BYTES);
    } else {
        char *out, why[400];
        size_t n;
        int count;
        if (sq_agent_edit_apply(buf, len, json_string_value(json_object_get(args, "oldString")),
                                json_string_value(json_object_get(args, "newString")),
                                json_is_true(json_object_get(args, "replaceAll")), &out, &n, &count, why,
                                sizeof why) < 0) {
            *text = strdup(why);
        } else {
            if (write_all(fd, out, n) < 0) {
                *text = write_error(rel);
            } else {
                *text = fmt("Edited /workspace/%s: %d replacement%s", rel, count, count == 1 ? "" : "s");
                json_object_set_new(c->written, rel, json_true());
            }
            free(out);
        }
    }
    close(fd);
    free(buf);
    return SQ_TOOL_OK;
}

/* list, glob, grep: commands whose user input is only ever argv. */
static sq_tool_status search(sq_agent_tools_ctx *c, const char *const *argv, const char *none, char **text,
                             sq_err *fail)
{
    cmd_out o;
    sq_exec_result res;
    bool by_task;
    sq_tool_status st = run_cmd(c, argv, SEARCH_MS, true, &o, &res, &by_task, text, fail);
    if (st == SQ_TOOL_OK && !*text) {
        if (res.timed_out) {
            char *b = out_text(c, &o.ht);
            *text = fmt("%s\n[the search was stopped after %d s]", b, SEARCH_MS / 1000);
            free(b);
        } else if (o.ht.total) {
            *text = out_text(c, &o.ht);
        } else if (o.err.total) {
            char *e = out_text(c, &o.err);
            *text = fmt("Error: %s", e);
            free(e);
        } else {
            *text = strdup(none);
        }
    }
    out_free(&o);
    return st;
}

static sq_tool_status tool_list(sq_agent_tools_ctx *c, const json_t *args, char **text, sq_err *fail)
{
    char rel[4200], dir[4300];
    if (tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    abs_path(rel, dir, sizeof dir);
    const char *argv[] = {"bash", "-c",
                          "find \"$1\" -mindepth 1 -maxdepth 1 -printf '%y %s %f\\n' | LC_ALL=C sort -k3 | head -n 2000",
                          "list", dir, NULL};
    return search(c, argv, "[empty directory]", text, fail);
}

/* "**" and "**" followed by "/" become "*": find's -path lets * cross "/". */
static void glob_to_find(const char *pat, char *out, size_t n)
{
    size_t k = (size_t)snprintf(out, n, "./");
    if (pat[0] == '/' && strncmp(pat, SQ_WORKSPACE_ROOT "/", sizeof SQ_WORKSPACE_ROOT) == 0)
        pat += sizeof SQ_WORKSPACE_ROOT;
    while (pat[0] == '.' && pat[1] == '/')
        pat += 2;
    for (const char *p = pat; *p && k + 2 < n; p++) {
        if (p[0] == '*' && p[1] == '*') {
            out[k++] = '*';
            p += p[2] == '/' ? 2 : 1;
            continue;
        }
        out[k++] = *p;
    }
    out[k] = '\0';
}

static sq_tool_status tool_glob(sq_agent_tools_ctx *c, const json_t *args, char **text, sq_err *fail)
{
    char rel[4200], dir[4300], pat[4200];
    if (tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    abs_path(rel, dir, sizeof dir);
    glob_to_find(json_string_value(json_object_get(args, "pattern")), pat, sizeof pat);
    const char *argv[] = {"bash", "-c",
                          "cd \"$1\" && find . -path \"$2\" -not -path './.git/*' -printf '%P\\n' | LC_ALL=C sort | "
                          "head -n 1000",
                          "glob", dir, pat, NULL};
    return search(c, argv, "No files found.", text, fail);
}

static sq_tool_status tool_grep(sq_agent_tools_ctx *c, const json_t *args, char **text, sq_err *fail)
{
    char rel[4200], dir[4300], inc[4200];
    if (tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    abs_path(rel, dir, sizeof dir);
    const char *include = json_string_value(json_object_get(args, "include"));
    snprintf(inc, sizeof inc, "--include=%s", include ? include : "*");
    const char *argv[] = {"grep", "-rnIE", "--exclude-dir=.git", "--color=never", inc,
                          "-e", json_string_value(json_object_get(args, "pattern")), "--", dir, NULL};
    return search(c, argv, "No matches found.", text, fail);
}

#define BROWSER_ACTION_MS 60000

/* browser: one of task.browser's actions on the sandbox's page, through the
 * browser capability's own code (caps/browser/actions.h): the same CDP calls,
 * bounds and confined screenshot writes as task.browser. */
static sq_tool_status tool_browser(sq_agent_tools_ctx *c, const json_t *args, char **text)
{
    sq_live_sandbox *sb = c->t->sb;
    const char *action = json_string_value(json_object_get(args, "action"));
    static const char *const ops[] = {"goto", "click", "type", "content", "screenshot", NULL};
    static const char *const needs[] = {"url", "selector", "selector", NULL, NULL};
    int op = -1;
    for (int i = 0; ops[i] && op < 0; i++)
        if (strcmp(action, ops[i]) == 0)
            op = i;
    if (op < 0) {
        *text = fmt("Error: browser action \"%.64s\" is not one of goto, click, type, content, screenshot", action);
        return SQ_TOOL_OK;
    }
    if (needs[op] && !json_string_value(json_object_get(args, needs[op]))) {
        *text = fmt("Error: browser %s needs \"%s\"", action, needs[op]);
        return SQ_TOOL_OK;
    }
    if (op == 2 && !json_string_value(json_object_get(args, "text"))) {
        *text = strdup("Error: browser type needs \"text\"");
        return SQ_TOOL_OK;
    }
    if (!sb->browser || !sb->browser->running) {
        *text = strdup("Error: the sandbox's browser is not running (a task.browser starts it again)");
        return SQ_TOOL_OK;
    }
    if (!sq_handoff_agent_may_act(&sb->handoffs)) { /* a person took over (a backend's hand-off): hands off */
        *text = strdup("Error: a person has control of the browser now (an accepted hand-off, controlMode human); "
                       "no browser action was run. Do something else, or answer.");
        return SQ_TOOL_OK;
    }
    char rel[4200] = "";
    const char *path = json_string_value(json_object_get(args, "path"));
    if (op == 4 && path && tool_path(args, "path", rel, sizeof rel, text) < 0)
        return SQ_TOOL_OK;
    json_t *a = json_pack("{s:s}", "op", action);
    static const char *const copy[] = {"url", "selector", "text", NULL};
    for (const char *const *k = copy; *k; k++)
        if (json_object_get(args, *k))
            json_object_set(a, *k, json_object_get(args, *k));
    if (op == 4) {
        if (!rel[0]) /* one file per screenshot of the task */
            snprintf(rel, sizeof rel, "screenshots/%s-%d.png", c->t->req->task_id, ++c->screenshots);
        json_object_set_new(a, "path", json_string(rel));
        if (json_is_true(json_object_get(args, "fullPage")))
            json_object_set_new(a, "fullPage", json_true());
    }
    int64_t deadline = sq_mono_ms() + BROWSER_ACTION_MS;
    if (deadline > c->deadline)
        deadline = c->deadline;
    sq_browser_run run = {.b = sb->browser, .workspace_fd = sb->workspace_fd, .uid = sb->host_uid,
                          .gid = sb->host_gid, .task_id = c->t->req->task_id, .deadline = deadline};
    json_t *r = NULL;
    const char *reason = NULL;
    sq_err why;
    if (sq_browser_action(&run, 0, a, &r, &reason, &why) < 0) {
        *text = fmt("Error: browser %s failed (%s): %s", action, reason ? reason : "action_failed", why.msg);
    } else if (op == 0) {
        *text = fmt("Opened %s", json_string_value(json_object_get(r, "url")) ?: json_string_value(json_object_get(a, "url")));
    } else if (op == 1 || op == 2) {
        *text = fmt("%s %s", op == 1 ? "Clicked" : "Typed into", json_string_value(json_object_get(a, "selector")));
    } else if (op == 3) {
        sq_headtail h;
        if (sq_headtail_init(&h, c->output_max, 0) == 0) {
            const char *t = json_string_value(json_object_get(r, "text"));
            char *head = fmt("URL: %s\nTitle: %s\n\n", json_string_value(json_object_get(r, "url")) ?: "",
                             json_string_value(json_object_get(r, "title")) ?: "");
            sq_headtail_add(&h, head, strlen(head));
            sq_headtail_add(&h, t ? t : "", t ? strlen(t) : 0);
            free(head);
            *text = out_text(c, &h);
            sq_headtail_free(&h);
        }
    } else {
        const char *p = json_string_value(json_object_get(r, "path"));
        *text = fmt("Saved a screenshot to %s", p ? p : "the workspace");
        if (p && strncmp(p, SQ_WORKSPACE_ROOT "/", sizeof SQ_WORKSPACE_ROOT) == 0)
            json_object_set_new(c->written, p + sizeof SQ_WORKSPACE_ROOT, json_true());
    }
    json_decref(r);
    json_decref(a);
    if (*text) { /* what a page says is redacted like any output */
        char *red = finish_text(c, *text);
        free(*text);
        *text = red;
    }
    return SQ_TOOL_OK;
}

sq_tool_status sq_agent_tool_run(sq_agent_tools_ctx *c, const char *name, const json_t *args, char **text,
                                 sq_err *fail)
{
    *text = NULL;
    sq_tool_status st;
    if (strcmp(name, "bash") == 0)
        st = tool_bash(c, args, text, fail);
    else if (strcmp(name, "read") == 0)
        st = tool_read(c, args, text);
    else if (strcmp(name, "write") == 0)
        st = tool_write(c, args, text);
    else if (strcmp(name, "edit") == 0)
        st = tool_edit(c, args, text);
    else if (strcmp(name, "list") == 0)
        st = tool_list(c, args, text, fail);
    else if (strcmp(name, "glob") == 0)
        st = tool_glob(c, args, text, fail);
    else if (strcmp(name, "grep") == 0)
        st = tool_grep(c, args, text, fail);
    else if (strcmp(name, "browser") == 0)
        st = tool_browser(c, args, text);
    else if (strcmp(name, "request_handoff") == 0) {
        st = sq_agent_tool_handoff(c, args, text);
        if (st == SQ_TOOL_OK && *text) { /* the person's note is redacted like any output */
            char *red = finish_text(c, *text);
            free(*text);
            *text = red;
        }
    }
    else
        st = (*text = fmt("Error: there is no tool named \"%s\"", name), SQ_TOOL_OK);
    if (st == SQ_TOOL_OK && !*text)
        *text = strdup("");
    return st;
}

json_t *sq_agent_changed_files(sq_agent_tools_ctx *c, int64_t since_ns)
{
    char stamp[64];
    snprintf(stamp, sizeof stamp, "@%lld.%09lld", (long long)(since_ns / 1000000000),
             (long long)(since_ns % 1000000000));
    const char *argv[] = {"bash", "-c",
                          "find /workspace -xdev -type f -newermt \"$1\" -not -path '/workspace/.git/*' -printf "
                          "'%P\\n' | LC_ALL=C sort | head -n 1000",
                          "changed", stamp, NULL};
    cmd_out o;
    if (out_init(c, &o, true) < 0)
        return NULL;
    /* Not bounded by the task's deadline: the task's work is done; a short
     * timeout of its own. */
    sq_exec_result res;
    sq_err fail;
    run_ctx r = {.t = c->t, .out = &o};
    sq_exec_opts opts = {.argv = argv, .envp = c->envp, .cwd = "/workspace", .timeout_ms = 10000,
                         .on_output = on_out, .user = &r, .on_control = on_control, .wake_fd = c->t->sb->wake_fd,
                         .control_at = sq_control_first_at(c->t->sb)};
    json_t *list = NULL;
    if (sq_sandbox_exec(c->t->sb->runtime, &opts, &res, &fail) == 0 && !res.timed_out && !res.canceled &&
        res.exit_code == 0) {
        char *s = sq_headtail_text(&o.ht, NULL);
        list = json_array();
        for (char *line = s ? strtok(s, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            json_t *v = json_string(line); /* names that are not UTF-8 are left out */
            if (v)
                json_array_append_new(list, v);
        }
        free(s);
    }
    out_free(&o);
    return list;
}
