/* loop.c — see loop.h. */
#include "caps/agent/loop.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caps/agent/model.h"
#include "caps/agent/rules.h"
#include "caps/agent/tools.h"
#include "lifecycle/control.h"
#include "notify/emit.h"
#include "sq/clock.h"
#include "sq/env.h"
#include "sq/log.h"
#include "store/pg_store.h"
#include "util/backoff.h"

#define DEFAULT_BASE_URL "https://openrouter.ai/api/v1"
#define TRANSCRIPT_MAX (4u << 20)

static sq_agent_settings settings;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static void settings_load(void)
{
    sq_err err;
    settings.allow_private = sq_env_bool("SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS", false);
    settings.stream = sq_env_bool("SANDQ_AGENT_STREAM", true);
    settings.title = sq_env_bool("SANDQ_AGENT_TITLE", true);
    /* Out-of-range values fall back to the defaults (logged by sq_env_int's caller below). */
    if (sq_env_int("SANDQ_AGENT_TIMEOUT_MS", 1800000, 1000, 86400000, &settings.timeout_ms, &err) < 0)
        settings.timeout_ms = 1800000;
    if (sq_env_int("SANDQ_AGENT_MAX_TOKENS", 2000000, 1000, 1000000000, &settings.max_tokens, &err) < 0)
        settings.max_tokens = 2000000;
    if (sq_env_int("SANDQ_AGENT_TOOL_OUTPUT_BYTES", 30000, 256, 1 << 20, &settings.output_bytes, &err) < 0)
        settings.output_bytes = 30000;
    if (sq_env_int("SANDQ_AGENT_RETRIES", 4, 0, 20, &settings.retries, &err) < 0)
        settings.retries = 4;
    if (sq_env_int("SANDQ_AGENT_RETRY_MAX_MS", 30000, 1, 600000, &settings.retry_cap_ms, &err) < 0)
        settings.retry_cap_ms = 30000;
    if (settings.allow_private)
        sq_warn(NULL, "SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS=1: agent model endpoints may be loopback and private "
                      "addresses");
}

const sq_agent_settings *sq_agent_settings_get(void)
{
    pthread_once(&settings_once, settings_load);
    return &settings;
}

static const char *env_str(const json_t *env, const char *k)
{
    const char *v = json_string_value(json_object_get(env, k));
    return v && *v ? v : NULL;
}

void sq_agent_env_of(const json_t *env, sq_agent_env *e)
{
    e->api_key = env_str(env, "OPENROUTER_API_KEY");
    e->model = env_str(env, "OPENROUTER_MODEL");
    e->small_model = env_str(env, "OPENROUTER_SMALL_MODEL");
    e->base_url = env_str(env, "OPENROUTER_BASE_URL");
}

int sq_agent_env_check(const sq_agent_env *e, char *why, size_t why_size)
{
    if (!e->api_key && !e->model) {
        snprintf(why, why_size, "the sandbox env has neither OPENROUTER_API_KEY nor OPENROUTER_MODEL; the agent "
                                "needs both to answer prompts");
        return -1;
    }
    if (!e->api_key) {
        snprintf(why, why_size, "the sandbox env has no OPENROUTER_API_KEY; the agent needs it to answer prompts");
        return -1;
    }
    if (!e->model) {
        snprintf(why, why_size, "the sandbox env has no OPENROUTER_MODEL; the agent needs a model to answer prompts");
        return -1;
    }
    return sq_model_check_url(e->base_url ? e->base_url : DEFAULT_BASE_URL, sq_agent_settings_get()->allow_private,
                              why, why_size);
}

/* ---- one run ---- */

typedef struct run {
    sq_task *t;
    const sq_agent_settings *s;
    sq_agent_env env;
    sq_agent_kind kind;
    const char *model;
    char url[2100];
    int64_t deadline;
    sq_agent_budget budget;
    json_t *messages;
    json_t *tools;
    const char **secrets;
    char **envbuf;
    const char **envp;
    int64_t prompt_tokens, completion_tokens;
    double cost;
    bool has_cost;
    int steps;
    long http_status;
    sq_agent_repeat repeat;
    sq_agent_tools_ctx tc;
} run;

static bool stop_asked(void *user)
{
    run *r = user;
    int64_t at;
    return sq_control_on_exec(r->t, &at);
}

/* The commands' env: the sandbox's, like task.exec, but never the model key
 * (a prompt-injected command could otherwise send it anywhere). The
 * secrets list: the key and every env value whose name looks secret. */
static int build_env(run *r)
{
    const json_t *env = r->t->sb->env;
    size_t n = json_object_size(env) + 8;
    r->envbuf = calloc(n, sizeof *r->envbuf);
    r->envp = calloc(n + 1, sizeof *r->envp);
    r->secrets = calloc(n + 1, sizeof *r->secrets);
    if (!r->envbuf || !r->envp || !r->secrets)
        return -1;
    size_t k = 0, ns = 0;
    static const char *const base[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                       "HOME=/workspace", "LANG=C.UTF-8", "TERM=dumb", NULL};
    for (const char *const *b = base; *b; b++) {
        char key[16];
        snprintf(key, sizeof key, "%.*s", (int)(strchr(*b, '=') - *b), *b);
        if (!json_object_get(env, key)) /* the sandbox's env may set its own */
            r->envbuf[k++] = strdup(*b);
    }
    if (asprintf(&r->envbuf[k], "SANDQ_SANDBOX_ID=%s", r->t->sb->id) > 0)
        k++;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)env, name, v)
    {
        if (strcmp(name, "OPENROUTER_API_KEY") != 0 && asprintf(&r->envbuf[k], "%s=%s", name, json_string_value(v)) > 0)
            k++;
        if (strcmp(name, "OPENROUTER_API_KEY") == 0 || sq_agent_secret_name(name))
            r->secrets[ns++] = json_string_value(v);
    }
    for (size_t i = 0; i < k; i++)
        r->envp[i] = r->envbuf[i];
    return 0;
}

static char *redact(run *r, const char *s)
{
    char *x = sq_agent_redact(s, r->secrets);
    return x ? x : strdup("");
}

static const char *system_prompt(sq_agent_kind k)
{
    if (k == SQ_AGENT_PLAN)
        return "You are the plan agent of sandq, working in a Linux sandbox whose files are under /workspace. You "
               "are read-only: you can read, list, glob and grep, but not change anything or run commands. "
               "Investigate with your tools, then answer with a plan or an analysis. When you are done, reply "
               "without calling any tool; that reply is your final answer.";
    return "You are the build agent of sandq, working in a Linux sandbox. Your working directory is /workspace; "
           "files there are the results the user reads. Use the tools to inspect, run commands, and create or "
           "change files. Prefer edit for small changes to existing files and write for new ones. Keep going "
           "until the task is done, then reply without calling any tool: that reply is your final answer, a "
           "short summary of what you did and where the results are.";
}

static void fail_with(sq_task_outcome *out, sq_code code, const char *reason, const char *msg)
{
    sq_err_set(&out->failure, code, "%s", msg);
    out->reason = reason;
}

/* Wait before a retry; false when stopped or out of time meanwhile. */
static bool wait_retry(run *r, int64_t ms)
{
    int64_t until = sq_mono_ms() + ms;
    for (;;) {
        if (stop_asked(r))
            return false;
        int64_t now = sq_mono_ms();
        if (now >= until)
            return true;
        if (now >= r->deadline)
            return false;
        int64_t w = until - now < 250 ? until - now : 250;
        struct pollfd p = {.fd = r->t->sb->wake_fd, .events = POLLIN};
        if (poll(&p, p.fd >= 0 ? 1 : 0, (int)w) > 0) {
            uint64_t v;
            if (read(p.fd, &v, sizeof v) < 0) {
                /* drained elsewhere */
            }
        }
    }
}

typedef enum { CALL_OK, CALL_FAILED } call_rc;

/* One model turn with its retries. On CALL_FAILED out says why. */
static call_rc ask(run *r, bool summarizing, sq_chat_reply *reply, sq_task_outcome *out)
{
    json_t *body = json_pack("{s:s, s:O, s:O, s:b}", "model", r->model, "messages", r->messages, "tools", r->tools,
                             "stream", r->s->stream);
    if (summarizing)
        json_object_set_new(body, "tool_choice", json_string("none"));
    if (r->s->stream)
        json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    /* OpenRouter reports the cost in usage when asked; other endpoints may
     * refuse a parameter they do not know, so only OpenRouter is asked. */
    if (strstr(r->url, "://openrouter.ai/"))
        json_object_set_new(body, "usage", json_pack("{s:b}", "include", 1));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        fail_with(out, SQ_INTERNAL, NULL, "out of memory");
        return CALL_FAILED;
    }
    sq_backoff b = sq_backoff_make(1000, r->s->retry_cap_ms);
    call_rc rc = CALL_FAILED;
    char msg[700];
    for (int64_t attempt = 0;; attempt++) {
        sq_model_req q = {.url = r->url, .api_key = r->env.api_key, .body = text, .body_len = strlen(text),
                          .allow_private = r->s->allow_private, .deadline = r->deadline,
                          .wake_fd = r->t->sb->wake_fd, .stop = stop_asked, .user = r};
        sq_model_res res;
        sq_model_call(&q, &res);
        r->http_status = res.status;
        if (res.outcome == SQ_MODEL_STOPPED) {
            sq_chat_reply_free(&res.reply);
            fail_with(out, sq_control_stop_code(r->t->sb), NULL, sq_control_why_stopped(r->t->sb, r->t->req->task_id));
            break;
        }
        if (res.outcome == SQ_MODEL_TIMED_OUT) {
            sq_chat_reply_free(&res.reply);
            snprintf(msg, sizeof msg, "the agent ran longer than its timeoutMs (%lld ms) while waiting for the model",
                     (long long)(r->deadline - r->t->started_mono));
            fail_with(out, SQ_TIMED_OUT, NULL, msg);
            break;
        }
        bool retry;
        const char *reason;
        if (res.outcome == SQ_MODEL_NET_ERROR) {
            retry = !res.blocked;
            reason = res.blocked ? "model_endpoint_refused" : "model_unreachable";
            snprintf(msg, sizeof msg, "%s", res.error);
        } else if (sq_agent_http_verdict(res.status) != SQ_MODEL_OK) {
            retry = sq_agent_http_verdict(res.status) == SQ_MODEL_RETRY;
            reason = retry ? "model_unavailable" : "model_rejected";
            snprintf(msg, sizeof msg, "%s", res.error);
        } else if (res.reply.is_error) {
            /* An error in a 200 (OpenRouter reports provider failures so):
             * retried only when its code says it is transient. */
            int code = res.reply.error_status;
            retry = code && sq_agent_http_verdict(code) == SQ_MODEL_RETRY;
            reason = "model_error";
            snprintf(msg, sizeof msg, "the model endpoint answered HTTP %ld with an error: %s", res.status,
                     res.reply.error);
        } else {
            *reply = res.reply;
            rc = CALL_OK;
            break;
        }
        sq_chat_reply_free(&res.reply);
        sq_log_ctx lc = {.sandbox_id = r->t->sb->id, .task_id = r->t->req->task_id};
        if (!sq_agent_retry_allowed(retry ? SQ_MODEL_RETRY : SQ_MODEL_FAIL, attempt, r->s->retries)) {
            if (retry)
                snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (after %lld retries)", (long long)attempt);
            fail_with(out, SQ_CAPABILITY_UNAVAILABLE, reason, msg);
            break;
        }
        int64_t delay = sq_agent_retry_delay(res.retry_after_ms, &b, r->s->retry_cap_ms);
        sq_warn(&lc, "agent: %s; retrying in %lld ms", msg, (long long)delay);
        if (!wait_retry(r, delay)) {
            if (stop_asked(r))
                fail_with(out, sq_control_stop_code(r->t->sb), NULL, sq_control_why_stopped(r->t->sb, r->t->req->task_id));
            else
                fail_with(out, SQ_TIMED_OUT, NULL, "the agent's timeoutMs ran out while it waited to retry the model");
            break;
        }
    }
    free(text);
    return rc;
}

/* The task's short title, by the small model (else the main one): one
 * whole-answer call after the loop, no tools, no retries, at most 15 s and
 * never past the task's deadline. A title is a nicety: any failure leaves it
 * out (logged), never fails the task. Returns a malloc'd, redacted title. */
#define TITLE_TIMEOUT_MS 15000
static char *make_title(run *r, const char *answer)
{
    const char *prompt = json_string_value(json_object_get(r->t->req->body, "prompt"));
    char user[3200];
    snprintf(user, sizeof user, "Task:\n%.2000s\n\nOutcome:\n%.1000s", prompt ? prompt : "", answer ? answer : "");
    /* Cut on a character boundary: snprintf's precision counts bytes. */
    json_t *u = json_string(user);
    for (size_t n = strlen(user); !u && n > 0; n--) {
        user[n - 1] = '\0';
        u = json_string(user);
    }
    json_t *body = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:o}], s:b, s:i}", "model",
                             r->env.small_model ? r->env.small_model : r->model, "messages", "role", "system",
                             "content",
                             "Write a title of at most eight words for this task, in the language of the task. "
                             "Reply with the title only, without quotes.",
                             "role", "user", "content", u ? u : json_string(""), "stream", 0, "max_tokens", 32);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return NULL;
    int64_t deadline = sq_mono_ms() + TITLE_TIMEOUT_MS;
    if (deadline > r->deadline)
        deadline = r->deadline;
    sq_model_req q = {.url = r->url, .api_key = r->env.api_key, .body = text, .body_len = strlen(text),
                      .allow_private = r->s->allow_private, .deadline = deadline, .wake_fd = r->t->sb->wake_fd,
                      .stop = stop_asked, .user = r};
    sq_model_res res;
    sq_model_call(&q, &res);
    free(text);
    char *title = NULL;
    if (res.outcome == SQ_MODEL_DONE && res.status >= 200 && res.status < 300 && !res.reply.is_error &&
        res.reply.content && res.reply.content_len) {
        char clean[160];
        const char *c = res.reply.content;
        size_t n = res.reply.content_len < sizeof clean - 1 ? res.reply.content_len : sizeof clean - 1;
        if (n < res.reply.content_len) /* cut: never inside a UTF-8 sequence */
            while (n > 0 && ((unsigned char)c[n] & 0xC0) == 0x80)
                n--;
        size_t a = 0;
        while (a < n && (c[a] == ' ' || c[a] == '\n' || c[a] == '"'))
            a++;
        while (n > a && (c[n - 1] == ' ' || c[n - 1] == '\n' || c[n - 1] == '"' || c[n - 1] == '.'))
            n--;
        for (size_t i = a; i < n; i++)
            clean[i - a] = c[i] == '\n' || c[i] == '\r' || c[i] == '\t' ? ' ' : c[i];
        clean[n - a] = '\0';
        json_t *valid = json_string(clean);
        if (valid)
            title = redact(r, clean);
        json_decref(valid);
    } else {
        sq_log_ctx lc = {.sandbox_id = r->t->sb->id, .task_id = r->t->req->task_id};
        sq_warn(&lc, "agent: no title: %s", res.error[0] ? res.error : res.reply.error[0] ? res.reply.error
                                                                                            : "no answer in time");
    }
    sq_chat_reply_free(&res.reply);
    return title;
}

/* The answer travels in one event (SANDQ_MAX_EVENT_BYTES, 1 MiB by default):
 * past ANSWER_MAX it is cut, on a character boundary, with a note; the
 * transcript keeps it whole. */
#define ANSWER_MAX (256u << 10)
static void cut_answer(char *a)
{
    static const char note[] = "\n[the answer was cut at 256 KiB; the transcript has all of it]";
    size_t n = a ? strlen(a) : 0;
    if (n <= ANSWER_MAX)
        return;
    size_t k = ANSWER_MAX - sizeof note;
    while (k > 0 && ((unsigned char)a[k] & 0xC0) == 0x80)
        k--;
    memcpy(a + k, note, sizeof note);
}

static void emit_progress(run *r, const char *tools, const char *summary, const sq_chat_reply *reply)
{
    json_t *d = json_pack("{s:s, s:i, s:s, s:s, s:{s:I, s:I}, s:I}", "kind", "agent", "step", r->steps, "tool",
                          tools, "summary", summary, "tokens", "prompt", (json_int_t)reply->prompt_tokens,
                          "completion", (json_int_t)reply->completion_tokens, "totalTokens",
                          (json_int_t)(r->prompt_tokens + r->completion_tokens));
    sq_emit_target target = sq_target_of(r->t->sb);
    sq_err err;
    /* A failed emit cannot stop the agent (emit logs it); the final event still reports. */
    (void)sq_emit(r->t->w, &target, r->t->req, r->t->req->task_id, "sandbox.task.progress", d, &err);
}

static void append_tool_result(run *r, const char *id, const char *content)
{
    json_t *c = json_string(content);
    if (!c) /* output that is not UTF-8 */
        c = json_string("[the output is not valid UTF-8 text]");
    json_array_append_new(r->messages, json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id", id, "content", c));
}

/* Run the calls of one reply, in order. Returns false when the task must
 * end (out says why). */
static bool run_calls(run *r, sq_chat_reply *reply, char *tools, size_t tools_size, char *summary,
                      size_t summary_size, sq_task_outcome *out)
{
    size_t tl = 0;
    tools[0] = summary[0] = '\0';
    for (int i = 0; i < reply->ncalls; i++) {
        sq_chat_call *c = &reply->calls[i];
        const char *name = c->name ? c->name : "";
        json_t *args = NULL;
        char why[700];
        char *text = NULL;
        if (tl < tools_size) /* a long list is cut; the step's tool messages have every call */
            tl += (size_t)snprintf(tools + tl, tools_size - tl, "%s%s", i ? "," : "", *name ? name : "?");
        if (sq_agent_check_call(r->kind, r->t->sb->browser != NULL, name, c->args, &args, why, sizeof why) < 0) {
            text = strdup(why);
        } else if (sq_agent_repeat_note(&r->repeat, name, args)) {
            text = strdup("Error: this is the third identical call in a row (same tool, same arguments); it was not "
                          "run, because its result would not change. Try a different approach, or answer with what "
                          "you have.");
        } else {
            sq_err fail = {0};
            sq_tool_status st = sq_agent_tool_run(&r->tc, name, args, &text, &fail);
            if (st != SQ_TOOL_OK) {
                json_decref(args);
                free(text);
                if (st == SQ_TOOL_STOPPED)
                    fail_with(out, sq_control_stop_code(r->t->sb), NULL, sq_control_why_stopped(r->t->sb, r->t->req->task_id));
                else if (st == SQ_TOOL_TIMED_OUT)
                    fail_with(out, SQ_TIMED_OUT, NULL, "the agent ran longer than its timeoutMs; the running tool "
                                                       "was killed");
                else
                    fail_with(out, SQ_INTERNAL, NULL, fail.msg[0] ? fail.msg : "the sandbox is gone");
                return false;
            }
        }
        if (i == 0 || !summary[0]) {
            char raw[200];
            sq_agent_step_summary(*name ? name : "?", args, raw, sizeof raw);
            char *red = redact(r, raw);
            snprintf(summary, summary_size, "%s", red);
            free(red);
        }
        json_decref(args);
        append_tool_result(r, c->id, text ? text : "");
        free(text);
    }
    if (reply->ncalls > 1)
        snprintf(summary + strlen(summary), summary_size - strlen(summary), " (+%d more)", reply->ncalls - 1);
    return true;
}

static void store_transcript(run *r, const char *outcome)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:O}", "agent", sq_agent_kind_name(r->kind), "model", r->model,
                            "outcome", outcome, "messages", r->messages);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text && strlen(text) > TRANSCRIPT_MAX) {
        /* Bounded: the first messages (the prompt, the first steps) are kept. */
        json_t *cut = json_array();
        size_t used = 0, i;
        json_t *m;
        json_array_foreach(r->messages, i, m)
        {
            char *one = json_dumps(m, JSON_COMPACT);
            used += one ? strlen(one) : 0;
            free(one);
            if (used > TRANSCRIPT_MAX - 4096)
                break;
            json_array_append(cut, m);
        }
        free(text);
        doc = json_pack("{s:s, s:s, s:s, s:o, s:b}", "agent", sq_agent_kind_name(r->kind), "model", r->model,
                        "outcome", outcome, "messages", cut, "truncated", 1);
        text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
    }
    if (!text)
        return;
    char *red = redact(r, text);
    free(text);
    sq_err err;
    char steps[16];
    snprintf(steps, sizeof steps, "%d", r->steps);
    (void)sq_pg_agent_transcript(r->t->w, r->t->req->task_id, r->t->sb->id, sq_agent_kind_name(r->kind), r->model,
                                 steps, red, &err);
    free(red);
}

static json_t *usage_json(run *r)
{
    json_t *u = json_pack("{s:I, s:I, s:I}", "promptTokens", (json_int_t)r->prompt_tokens, "completionTokens",
                          (json_int_t)r->completion_tokens, "totalTokens",
                          (json_int_t)(r->prompt_tokens + r->completion_tokens));
    if (r->has_cost)
        json_object_set_new(u, "cost", json_real(r->cost));
    return u;
}

static void run_free(run *r)
{
    if (r->envbuf)
        for (size_t i = 0; r->envbuf[i]; i++)
            free(r->envbuf[i]);
    free(r->envbuf);
    free(r->envp);
    free(r->secrets);
    json_decref(r->messages);
    json_decref(r->tools);
    json_decref(r->tc.written);
    sq_agent_repeat_free(&r->repeat);
}

void sq_agent_body(sq_task *t, sq_task_outcome *out)
{
    const json_t *body = t->req->body;
    run r = {.t = t, .s = sq_agent_settings_get()};
    sq_agent_env_of(t->sb->env, &r.env);
    char why[400];
    if (sq_agent_env_check(&r.env, why, sizeof why) < 0) {
        fail_with(out, SQ_CAPABILITY_DISABLED, "agent_not_configured", why);
        return;
    }
    const char *agent = json_string_value(json_object_get(body, "agent"));
    r.kind = (sq_agent_kind)sq_agent_kind_from(agent ? agent : t->sb->agent_default);
    r.model = json_string_value(json_object_get(body, "model")) ?: r.env.model;
    const char *base = r.env.base_url ? r.env.base_url : DEFAULT_BASE_URL;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(r.url, sizeof r.url, "%.*s/chat/completions", (int)bl, base);
    const json_t *tm = json_object_get(body, "timeoutMs");
    int64_t timeout = tm ? json_integer_value(tm) : r.s->timeout_ms;
    /* With onTimeout "kill" the sandbox's own lifetime bounds the agent too. */
    int64_t lifetime = sq_lifetime_deadline(&t->sb->lifetime);
    if (!t->sb->limits.pause_on_timeout && lifetime >= 0 && lifetime - sq_now_ms() < timeout)
        timeout = lifetime - sq_now_ms() > 1 ? lifetime - sq_now_ms() : 1;
    r.deadline = t->started_mono + timeout;
    const json_t *ms = json_object_get(body, "maxSteps");
    r.budget = (sq_agent_budget){.max_steps = ms ? (int)json_integer_value(ms) : SQ_AGENT_DEFAULT_MAX_STEPS,
                                 .max_tokens = r.s->max_tokens};
    r.messages = json_pack("[{s:s, s:s}, {s:s, s:O}]", "role", "system", "content", system_prompt(r.kind), "role",
                           "user", "content", json_object_get(body, "prompt"));
    r.tools = sq_agent_tools_json(r.kind, t->sb->browser != NULL);
    if (build_env(&r) < 0 || !r.messages || !r.tools) {
        fail_with(out, SQ_INTERNAL, NULL, "out of memory");
        run_free(&r);
        return;
    }
    /* The kernel stamps a file's mtime from the coarse clock (one tick, up to
     * a few ms, behind CLOCK_REALTIME), and `find -newermt` wants strictly
     * newer: a file written right after a fine reading could look older than
     * the task. Read the same coarse clock, less 1 ns, so a write in this very
     * tick counts (a file another request wrote in the same tick before the
     * task may be listed too: over-reporting, never a miss). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    int64_t since_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - 1;
    r.tc = (sq_agent_tools_ctx){.t = t, .envp = r.envp, .secrets = r.secrets, .deadline = r.deadline,
                                .output_max = (size_t)r.s->output_bytes, .written = json_object()};

    char *answer = NULL;
    const char *stop_reason = "completed";
    for (;;) {
        if (stop_asked(&r)) {
            fail_with(out, sq_control_stop_code(t->sb), NULL, sq_control_why_stopped(t->sb, t->req->task_id));
            break;
        }
        bool summarizing = sq_agent_before_call(&r.budget) == SQ_AGENT_SUMMARIZE;
        if (summarizing)
            json_array_append_new(r.messages,
                                  json_pack("{s:s, s:s}", "role", "user", "content",
                                            "You have reached the step limit of this task. Do not call any tool. "
                                            "Reply now with your final answer: what you did, what the results are "
                                            "and where, and what is left to do."));
        sq_chat_reply reply = {0};
        if (ask(&r, summarizing, &reply, out) != CALL_OK)
            break;
        sq_agent_after after = sq_agent_after_reply(&r.budget, summarizing ? SQ_AGENT_SUMMARIZE : SQ_AGENT_ASK,
                                                    reply.ncalls, reply.prompt_tokens, reply.completion_tokens);
        r.steps = r.budget.steps;
        r.prompt_tokens += reply.prompt_tokens;
        r.completion_tokens += reply.completion_tokens;
        if (reply.has_cost) {
            r.has_cost = true;
            r.cost += reply.cost;
        }
        if (after == SQ_AGENT_ANSWER) {
            /* The answer; tool calls made against tool_choice "none" are not run. */
            json_array_append_new(r.messages, json_pack("{s:s, s:s%}", "role", "assistant", "content",
                                                        reply.content ? reply.content : "",
                                                        reply.content ? reply.content_len : 0));
            answer = redact(&r, reply.content ? reply.content : "");
            cut_answer(answer);
            if (summarizing)
                stop_reason = "max_steps";
            char sum[200];
            snprintf(sum, sizeof sum, "answered%s", summarizing ? " (step limit reached)" : "");
            emit_progress(&r, "", sum, &reply);
            sq_chat_reply_free(&reply);
            break;
        }
        json_array_append_new(r.messages, sq_chat_reply_message(&reply, r.steps));
        r.tc.step = r.steps;
        char tools[512], summary[256];
        bool go_on = run_calls(&r, &reply, tools, sizeof tools, summary, sizeof summary, out);
        if (go_on)
            emit_progress(&r, tools, summary, &reply);
        sq_chat_reply_free(&reply);
        if (!go_on)
            break;
        if (sq_agent_after_calls(&r.budget) == SQ_AGENT_OVER_TOKENS) {
            snprintf(why, sizeof why,
                     "the agent used %lld tokens, more than this worker allows one task "
                     "(SANDQ_AGENT_MAX_TOKENS=%lld)",
                     (long long)(r.prompt_tokens + r.completion_tokens), (long long)r.s->max_tokens);
            fail_with(out, SQ_LIMIT_EXCEEDED, "token_limit", why);
            break;
        }
    }
    bool ok = out->failure.code == SQ_OK;
    if (!t->sb->fenced) /* taken over: nothing more of this task is ours to record (task.c) */
        store_transcript(&r, ok ? stop_reason : sq_code_name(out->failure.code));
    json_t *changed = NULL;
    if (!t->sb->fenced && out->failure.code != SQ_CANCELED && sq_sandbox_alive(t->sb->runtime))
        changed = sq_agent_changed_files(&r.tc, since_ns);
    if (!changed) { /* at least what write and edit changed */
        changed = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(r.tc.written, k, v) json_array_append_new(changed, json_string(k));
    }
    char *title = ok && r.s->title && !stop_asked(&r) ? make_title(&r, answer) : NULL;
    if (ok) {
        out->result = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o}", "answer", answer ? answer : "", "agent",
                                sq_agent_kind_name(r.kind), "model", r.model, "stopReason", stop_reason, "steps",
                                r.steps, "usage", usage_json(&r), "filesChanged", changed);
        if (title && *title)
            json_object_set_new(out->result, "title", json_string(title));
    } else {
        out->extra = json_pack("{s:i, s:o}", "steps", r.steps, "usage", usage_json(&r));
        if (r.http_status >= 400 && out->reason && strncmp(out->reason, "model_", 6) == 0)
            json_object_set_new(out->extra, "httpStatus", json_integer(r.http_status));
        json_decref(changed);
    }
    free(title);
    free(answer);
    run_free(&r);
}
