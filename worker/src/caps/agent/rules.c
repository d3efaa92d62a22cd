/* rules.c — see rules.h. */
#include "caps/agent/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sq/utf8.h"

typedef struct param {
    const char *name;
    const char *type; /* JSON-Schema type */
    bool required;
    const char *doc;
} param;

typedef struct tool_def {
    const char *name;
    const char *doc;
    param params[6];
} tool_def;

static const tool_def tools[] = {
    {"bash",
     "Run a bash command in the sandbox (cwd /workspace). Output (stdout and stderr) longer than the limit is cut "
     "to its head and tail with a marker. The command's whole process group is killed at its timeout.",
     {{"command", "string", true, "The command line, run with bash -c."},
      {"timeout", "integer", false, "Timeout in milliseconds (default 120000, at most 600000)."},
      {"description", "string", false, "A few words saying what the command does."}}},
    {"read",
     "Read a text file of the workspace with line numbers. Use offset and limit for long files. Binary files are "
     "refused.",
     {{"path", "string", true, "Path, relative to /workspace or absolute inside it."},
      {"offset", "integer", false, "First line to show, 1-based (default 1)."},
      {"limit", "integer", false, "Lines to show (default 2000)."}}},
    {"write",
     "Write a file of the workspace (created with its parent directories, or replaced).",
     {{"path", "string", true, "Path, relative to /workspace or absolute inside it."},
      {"content", "string", true, "The whole new content."}}},
    {"edit",
     "Replace an exact piece of a file's text. oldString must occur exactly once (include enough surrounding "
     "lines to make it unique) unless replaceAll is true.",
     {{"path", "string", true, "Path, relative to /workspace or absolute inside it."},
      {"oldString", "string", true, "The exact text to replace."},
      {"newString", "string", true, "The text to put in its place."},
      {"replaceAll", "boolean", false, "Replace every occurrence."}}},
    {"list",
     "List a directory of the workspace: one entry per line, type (d directory, f file, l link), size, name.",
     {{"path", "string", false, "Directory (default /workspace)."}}},
    {"glob",
     "Find files whose path below `path` matches a glob pattern (`*` also crosses directories; `**/` is "
     "accepted).",
     {{"pattern", "string", true, "The pattern, e.g. \"**/*.c\" or \"src/*.py\"."},
      {"path", "string", false, "Directory to search (default /workspace)."}}},
    {"grep",
     "Search file contents with an extended regular expression; prints path:line:text for each match.",
     {{"pattern", "string", true, "The regular expression (grep -E)."},
      {"path", "string", false, "File or directory to search (default /workspace)."},
      {"include", "string", false, "Only files whose name matches this glob, e.g. \"*.c\"."}}},
    {"browser",
     "Drive the sandbox's web browser (a headless Chromium; its page, cookies and logins persist between calls). "
     "action goto opens url; click clicks the first element matching selector; type types text into it; content "
     "returns the page's URL, title and text; screenshot saves a PNG of the page in the workspace at path.",
     {{"action", "string", true, "goto, click, type, content or screenshot."},
      {"url", "string", false, "goto: the URL (file:///workspace/… for a file of the workspace)."},
      {"selector", "string", false, "click, type: a CSS selector."},
      {"text", "string", false, "type: the text to type."},
      {"path", "string", false, "screenshot: where to save it in the workspace (default screenshots/…)."},
      {"fullPage", "boolean", false, "screenshot: the whole page, not just the viewport."}}},
    {"request_handoff",
     "Ask a person to take over the browser for something you cannot or must not do yourself: an MFA code, a "
     "captcha, an approval, a login that failed, a page you cannot make sense of, a file download. The call waits "
     "until the person hands control back (its result then has their note and your resumePrompt), cancels, or the "
     "hand-off expires; do not touch the browser meanwhile. Call it only when you are stuck, with the page at the "
     "point where the person must act.",
     {{"reason", "string", true, "mfa, captcha, approval, login_failed, ambiguous_ui, file_download or custom."},
      {"message", "string", true, "What the person must do, in a sentence or two (at most 4096 bytes)."},
      {"resumePrompt", "string", false, "What you will do once control returns; it is given back to you then."},
      {"expiresInMs", "integer", false, "How long to wait for the person, in ms (default 900000, 15 minutes)."}}},
};
#define NTOOLS (sizeof tools / sizeof tools[0])

static const char *const build_tools[] = {"bash", "read", "write", "edit", "list", "glob", "grep", NULL};
static const char *const build_browser_tools[] = {"bash", "read", "write", "edit", "list",
                                                  "glob", "grep", "browser", "request_handoff", NULL};
static const char *const plan_tools[] = {"read", "list", "glob", "grep", NULL};

int sq_agent_kind_from(const char *name)
{
    if (name && strcmp(name, "build") == 0)
        return SQ_AGENT_BUILD;
    if (name && strcmp(name, "plan") == 0)
        return SQ_AGENT_PLAN;
    return -1;
}

const char *sq_agent_kind_name(sq_agent_kind k)
{
    return k == SQ_AGENT_PLAN ? "plan" : "build";
}

const char *const *sq_agent_tools(sq_agent_kind k, bool browser)
{
    /* plan is read-only: a browser can submit forms, so it has none */
    return k == SQ_AGENT_PLAN ? plan_tools : browser ? build_browser_tools : build_tools;
}

static const tool_def *find_tool(const char *name)
{
    for (size_t i = 0; i < NTOOLS; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}

static bool has_tool(sq_agent_kind k, bool browser, const char *name)
{
    for (const char *const *t = sq_agent_tools(k, browser); *t; t++)
        if (strcmp(*t, name) == 0)
            return true;
    return false;
}

json_t *sq_agent_tools_json(sq_agent_kind k, bool browser)
{
    json_t *arr = json_array();
    for (const char *const *t = sq_agent_tools(k, browser); *t; t++) {
        const tool_def *d = find_tool(*t);
        json_t *props = json_object(), *req = json_array();
        for (const param *p = d->params; p < d->params + 6 && p->name; p++) {
            json_object_set_new(props, p->name, json_pack("{s:s, s:s}", "type", p->type, "description", p->doc));
            if (p->required)
                json_array_append_new(req, json_string(p->name));
        }
        json_array_append_new(arr, json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:o, s:o, s:b}}}", "type", "function",
                                             "function", "name", d->name, "description", d->doc, "parameters",
                                             "type", "object", "properties", props, "required", req,
                                             "additionalProperties", 0));
    }
    return arr;
}

static void tool_list(sq_agent_kind k, bool browser, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *const *t = sq_agent_tools(k, browser); *t; t++)
        used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s%s", used ? ", " : "", *t);
}

static bool type_ok(const json_t *v, const char *type)
{
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    return true;
}

int sq_agent_check_call(sq_agent_kind k, bool browser, const char *name, const char *args_text, json_t **args,
                        char *why, size_t why_size)
{
    *args = NULL;
    char names[128];
    tool_list(k, browser, names, sizeof names);
    if (!name || !*name) {
        snprintf(why, why_size, "Error: the tool call has no tool name. Available tools: %s.", names);
        return -1;
    }
    const tool_def *d = find_tool(name);
    if (!d || (!has_tool(k, browser, name) && k == SQ_AGENT_BUILD &&
               (strcmp(name, "browser") == 0 || strcmp(name, "request_handoff") == 0))) {
        /* (a build agent without a browser: "browser" and "request_handoff" are as unknown as any other name) */
        for (size_t i = 0; i < NTOOLS; i++) {
            if (strcasecmp(tools[i].name, name) == 0 && strcmp(tools[i].name, name) != 0 &&
                has_tool(k, browser, tools[i].name)) {
                snprintf(why, why_size,
                         "Error: there is no tool named \"%.64s\"; tool names are case-sensitive: did you mean "
                         "\"%s\"? Available tools: %s.",
                         name, tools[i].name, names);
                return -1;
            }
        }
        snprintf(why, why_size, "Error: there is no tool named \"%.64s\". Available tools: %s.", name, names);
        return -1;
    }
    if (!has_tool(k, browser, name)) {
        snprintf(why, why_size,
                 "Error: the %s agent is read-only and cannot use \"%s\". Available tools: %s. Describe the change "
                 "instead of making it.",
                 sq_agent_kind_name(k), name, names);
        return -1;
    }
    json_error_t je;
    /* An empty arguments string is an empty object: tools without required
     * parameters are often called that way. */
    const char *text = args_text && *args_text ? args_text : "{}";
    json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!a) {
        snprintf(why, why_size,
                 "Error: the arguments of %s are not valid JSON (%s at character %d). Send the arguments as one "
                 "JSON object.",
                 name, je.text, je.position);
        return -1;
    }
    if (!json_is_object(a)) {
        json_decref(a);
        snprintf(why, why_size, "Error: the arguments of %s must be a JSON object.", name);
        return -1;
    }
    for (const param *p = d->params; p < d->params + 6 && p->name; p++) {
        const json_t *v = json_object_get(a, p->name);
        if (!v && p->required) {
            snprintf(why, why_size, "Error: %s needs the argument \"%s\" (%s).", name, p->name, p->type);
            json_decref(a);
            return -1;
        }
        if (v && !json_is_null(v) && !type_ok(v, p->type)) {
            snprintf(why, why_size, "Error: the argument \"%s\" of %s must be a %s.", p->name, name, p->type);
            json_decref(a);
            return -1;
        }
    }
    *args = a;
    return 0;
}

bool sq_agent_repeat_note(sq_agent_repeat *r, const char *name, const json_t *args)
{
    char *canon = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    size_t n = strlen(name) + 2 + (canon ? strlen(canon) : 0);
    char *sig = malloc(n);
    if (!sig) {
        free(canon);
        return false;
    }
    snprintf(sig, n, "%s\n%s", name, canon ? canon : "");
    free(canon);
    if (r->last && strcmp(r->last, sig) == 0) {
        r->count++;
        free(sig);
    } else {
        free(r->last);
        r->last = sig;
        r->count = 1;
    }
    if (r->count >= 3) {
        /* Broken: the next identical call counts from one again, so a model
         * that insists is told again every third time. */
        r->count = 0;
        return true;
    }
    return false;
}

void sq_agent_repeat_free(sq_agent_repeat *r)
{
    free(r->last);
    r->last = NULL;
    r->count = 0;
}

sq_model_verdict sq_agent_http_verdict(long status)
{
    if (status >= 200 && status < 300)
        return SQ_MODEL_OK;
    switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        return SQ_MODEL_RETRY;
    default: /* 400 bad request, 401 key, 402 credits, 403 moderation, …: retrying cannot help */
        return SQ_MODEL_FAIL;
    }
}

bool sq_agent_retry_allowed(sq_model_verdict v, int64_t attempt, int64_t retries)
{
    return v == SQ_MODEL_RETRY && attempt < retries;
}

int64_t sq_agent_retry_delay(int64_t retry_after_ms, sq_backoff *b, int64_t cap_ms)
{
    int64_t d = retry_after_ms >= 0 ? retry_after_ms : sq_backoff_next(b);
    return d > cap_ms ? cap_ms : d;
}

sq_agent_before sq_agent_before_call(const sq_agent_budget *b)
{
    return b->steps >= b->max_steps ? SQ_AGENT_SUMMARIZE : SQ_AGENT_ASK;
}

sq_agent_after sq_agent_after_reply(sq_agent_budget *b, sq_agent_before turn, int ncalls, int64_t prompt_tokens,
                                    int64_t completion_tokens)
{
    b->steps++;
    b->tokens += (prompt_tokens > 0 ? prompt_tokens : 0) + (completion_tokens > 0 ? completion_tokens : 0);
    return turn == SQ_AGENT_SUMMARIZE || ncalls == 0 ? SQ_AGENT_ANSWER : SQ_AGENT_RUN_CALLS;
}

sq_agent_next sq_agent_after_calls(const sq_agent_budget *b)
{
    return b->tokens > b->max_tokens ? SQ_AGENT_OVER_TOKENS : SQ_AGENT_GO_ON;
}

int64_t sq_agent_retry_after_ms(const char *v, int64_t now_s)
{
    if (!v)
        return -1;
    while (*v == ' ')
        v++;
    if (!*v)
        return -1;
    char *end;
    if (*v >= '0' && *v <= '9') {
        double s = strtod(v, &end);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (*end || s < 0 || s > 86400.0)
            return -1;
        return (int64_t)(s * 1000.0);
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    int64_t at = (int64_t)timegm(&tm);
    return at > now_s ? (at - now_s) * 1000 : 0;
}

int sq_headtail_init(sq_headtail *h, size_t head_max, size_t tail_max)
{
    memset(h, 0, sizeof *h);
    h->head_max = head_max;
    h->tail_max = tail_max;
    h->head = malloc(head_max + 1);
    h->tail = malloc(tail_max + 1);
    return h->head && h->tail ? 0 : -1;
}

void sq_headtail_add(sq_headtail *h, const char *b, size_t n)
{
    h->total += n;
    size_t take = h->head_max - h->head_len < n ? h->head_max - h->head_len : n;
    memcpy(h->head + h->head_len, b, take);
    h->head_len += take;
    b += take;
    n -= take;
    if (!h->tail_max)
        return;
    if (n >= h->tail_max) { /* only the last tail_max bytes can stay */
        b += n - h->tail_max;
        n = h->tail_max;
    }
    for (size_t i = 0; i < n; i++) {
        h->tail[h->tail_pos] = b[i];
        h->tail_pos = (h->tail_pos + 1) % h->tail_max;
    }
    h->tail_len = h->tail_len + n > h->tail_max ? h->tail_max : h->tail_len + n;
}

char *sq_headtail_text(const sq_headtail *h, size_t *len)
{
    uint64_t omitted = h->total - h->head_len - h->tail_len;
    char marker[96] = "";
    if (omitted)
        snprintf(marker, sizeof marker, "\n\n... [%llu bytes of output omitted] ...\n\n", (unsigned long long)omitted);
    size_t ml = strlen(marker);
    char *s = malloc(h->head_len + ml + h->tail_len + 1);
    if (!s)
        return NULL;
    memcpy(s, h->head, h->head_len);
    memcpy(s + h->head_len, marker, ml);
    size_t k = h->head_len + ml;
    /* The ring's oldest byte is at tail_pos once it has wrapped. */
    size_t start = h->tail_len == h->tail_max ? h->tail_pos : 0;
    for (size_t i = 0; i < h->tail_len; i++)
        s[k++] = h->tail[(start + i) % (h->tail_max ? h->tail_max : 1)];
    s[k] = '\0';
    if (len)
        *len = k;
    return s;
}

void sq_headtail_free(sq_headtail *h)
{
    free(h->head);
    free(h->tail);
    memset(h, 0, sizeof *h);
}

static const char *find_in(const char *hay, size_t n, const char *needle, size_t nl)
{
    if (nl == 0 || nl > n)
        return NULL;
    for (size_t i = 0; i + nl <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

int sq_agent_edit_apply(const char *text, size_t n, const char *old, const char *repl, bool all, char **out,
                        size_t *out_len, int *replaced, char *why, size_t why_size)
{
    *out = NULL;
    *replaced = 0;
    size_t ol = strlen(old), rl = strlen(repl);
    if (ol == 0) {
        snprintf(why, why_size, "Error: oldString is empty; to create or replace a whole file use write.");
        return -1;
    }
    if (strcmp(old, repl) == 0) {
        snprintf(why, why_size, "Error: oldString and newString are the same; nothing would change.");
        return -1;
    }
    int count = 0;
    for (const char *p = text; (p = find_in(p, n - (size_t)(p - text), old, ol)); p += ol)
        count++;
    if (count == 0) {
        snprintf(why, why_size,
                 "Error: oldString was not found in the file. It must match exactly, including whitespace and "
                 "indentation; read the file again and copy the text.");
        return -1;
    }
    if (count > 1 && !all) {
        snprintf(why, why_size,
                 "Error: oldString occurs %d times in the file. Include more surrounding text to make it unique, "
                 "or set replaceAll to replace every occurrence.",
                 count);
        return -1;
    }
    size_t size = n + (size_t)count * rl - (size_t)count * ol;
    char *s = malloc(size + 1);
    if (!s) {
        snprintf(why, why_size, "Error: out of memory");
        return -1;
    }
    size_t k = 0;
    const char *p = text, *hit;
    while ((hit = find_in(p, n - (size_t)(p - text), old, ol))) {
        memcpy(s + k, p, (size_t)(hit - p));
        k += (size_t)(hit - p);
        memcpy(s + k, repl, rl);
        k += rl;
        p = hit + ol;
    }
    memcpy(s + k, p, n - (size_t)(p - text));
    k += n - (size_t)(p - text);
    s[k] = '\0';
    *out = s;
    *out_len = k;
    *replaced = count;
    return 0;
}

char *sq_agent_redact(const char *s, const char *const *secrets)
{
    static const char mark[] = "[REDACTED]";
    char *cur = strdup(s ? s : "");
    for (const char *const *sec = secrets; sec && *sec && cur; sec++) {
        size_t sl = strlen(*sec);
        if (sl < 6) /* "1", "true": redacting them would mangle text, and they are no secret */
            continue;
        size_t n = strlen(cur), count = 0;
        for (const char *p = cur; (p = strstr(p, *sec)); p += sl)
            count++;
        if (!count)
            continue;
        char *out = malloc(n - count * sl + count * (sizeof mark - 1) + 1);
        if (!out) {
            free(cur);
            return NULL;
        }
        size_t k = 0;
        const char *p = cur, *hit;
        while ((hit = strstr(p, *sec))) {
            memcpy(out + k, p, (size_t)(hit - p));
            k += (size_t)(hit - p);
            memcpy(out + k, mark, sizeof mark - 1);
            k += sizeof mark - 1;
            p = hit + sl;
        }
        strcpy(out + k, p);
        free(cur);
        cur = out;
    }
    return cur;
}

bool sq_agent_secret_name(const char *name)
{
    static const char *const words[] = {"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", NULL};
    for (const char *const *w = words; *w; w++) {
        size_t wl = strlen(*w);
        for (const char *p = name; *p; p++)
            if (strncasecmp(p, *w, wl) == 0)
                return true;
    }
    return false;
}

void sq_agent_step_summary(const char *tool, const json_t *args, char *out, size_t max)
{
    static const char *const keys[] = {"command", "path", "pattern", "url", "selector", "reason", NULL};
    const char *arg = NULL;
    char browser[4200];
    for (const char *const *k = keys; *k && !arg; k++)
        arg = json_string_value(json_object_get(args, *k));
    const char *action = json_string_value(json_object_get(args, "action"));
    if (strcmp(tool, "browser") == 0 && action) { /* "browser goto https://…" */
        snprintf(browser, sizeof browser, "%s%s%.4000s", action, arg ? " " : "", arg ? arg : "");
        arg = browser;
    }
    size_t tl = strlen(tool), al = arg ? strlen(arg) : 0;
    char *full = malloc(tl + al + 2);
    if (!full || max == 0) {
        free(full);
        if (max)
            out[0] = '\0';
        return;
    }
    snprintf(full, tl + al + 2, "%s%s%s", tool, arg ? " " : "", arg ? arg : "");
    size_t n = strlen(full);
    if (n >= max) {
        n = max - 1;
        /* Cut on a character boundary: never inside a UTF-8 sequence. */
        while (n > 0 && ((unsigned char)full[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, full, n);
    out[n] = '\0';
    free(full);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

size_t sq_agent_utf8_sanitize(char *s, size_t n)
{
    size_t replaced = 0;
    unsigned char *u = (unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t l = u[i] ? sq_utf8_seq(u + i, n - i) : 0;
        if (l == 0) {
            u[i++] = '?';
            replaced++;
        } else {
            i += l;
        }
    }
    return replaced;
}
