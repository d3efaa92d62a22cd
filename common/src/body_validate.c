/* body_validate.c — per-type body validation, table-driven.
 *
 * Each request type has a table of fields (name, kind, required, bounds, enum).
 * Unknown fields are rejected, so a typo ("comand") is an error instead of a
 * silently ignored option. The first failing field is reported as
 * "body.<path>", matching the JSON Schema in schema/requests/. */
#include <stdio.h>
#include <string.h>

#include "sq/codec.h"
#include "sq/protocol.h"

typedef enum { K_STR, K_INT, K_NUM, K_BOOL, K_OBJ, K_STR_ARRAY, K_STR_MAP, K_OBJ_ARRAY, K_ANY } field_kind;

typedef struct field_spec {
    const char *name;
    field_kind kind;
    bool required;
    long long min, max;              /* K_STR: length; K_INT/K_NUM: value; arrays/maps: count */
    const char *const *one_of;       /* K_STR: allowed values */
    const char *id_prefix;           /* K_STR: must be "<prefix>_<ULID>" */
    const struct field_spec *fields; /* K_OBJ, K_OBJ_ARRAY: the nested table */
} field_spec;

#define END {NULL, K_ANY, false, 0, 0, NULL, NULL, NULL}
#define STR(n, req, maxlen) {n, K_STR, req, 0, maxlen, NULL, NULL, NULL}
#define NESTR(n, req, maxlen) {n, K_STR, req, 1, maxlen, NULL, NULL, NULL}
#define ENUM(n, req, vals) {n, K_STR, req, 0, 64, vals, NULL, NULL}
#define ID(n, req, prefix) {n, K_STR, req, 0, SQ_ID_MAX, NULL, prefix, NULL}
#define INT(n, req, lo, hi) {n, K_INT, req, lo, hi, NULL, NULL, NULL}
#define NUM(n, req, lo, hi) {n, K_NUM, req, lo, hi, NULL, NULL, NULL}
#define BOOL(n) {n, K_BOOL, false, 0, 0, NULL, NULL, NULL}
#define REQBOOL(n) {n, K_BOOL, true, 0, 0, NULL, NULL, NULL}
#define OBJ(n, req, sub) {n, K_OBJ, req, 0, 0, NULL, NULL, sub}
#define STRS(n, req, maxn) {n, K_STR_ARRAY, req, 0, maxn, NULL, NULL, NULL}
#define MAP(n, maxn) {n, K_STR_MAP, false, 0, maxn, NULL, NULL, NULL}
#define OBJS(n, req, maxn, sub) {n, K_OBJ_ARRAY, req, 1, maxn, NULL, NULL, sub}

#define PATH_MAXLEN 4096
#define DAY_MS (24LL * 3600 * 1000)
#define MAX_TIMEOUT_MS (30 * DAY_MS)

static const char *const runtimes[] = {"base", "python", "node", "bun", NULL};
static const char *const networks[] = {"none", "internet", NULL};
static const char *const on_timeouts[] = {"kill", "pause", NULL};
static const char *const agents[] = {"build", "plan", NULL};
static const char *const languages[] = {"python", "javascript", "typescript", "bash", NULL};
static const char *const handoff_reasons[] = {"mfa",          "captcha",       "approval", "login_failed",
                                              "ambiguous_ui", "file_download", "custom",   NULL};
/* Who asks over Kafka: the agent's own hand-offs come from inside the worker. */
static const char *const handoff_requesters[] = {"sdk", "dashboard", NULL};
static const char *const handoff_modes[] = {"human", "shared", NULL};
static const char *const preview_modes[] = {"view", "control", NULL};
static const char *const browser_ops[] = {"goto",  "click",      "type", "press", "waitFor", "evaluate",
                                          "content", "screenshot", "pdf",  "setViewport", "restart", NULL};

static const field_spec limits_fields[] = {
    INT("memoryMb", false, 16, 1 << 20), NUM("cpus", false, 0, 1024), INT("pids", false, 1, 1 << 22),
    INT("diskMb", false, 1, 1 << 24), END};
static const field_spec viewport_fields[] = {INT("width", true, 1, 16384), INT("height", true, 1, 16384), END};
static const field_spec cap_agent[] = {REQBOOL("enabled"), ENUM("defaultAgent", false, agents), END};
static const field_spec cap_browser[] = {OBJ("viewport", false, viewport_fields), BOOL("persistentProfile"),
                                         BOOL("recording"), BOOL("streamPreview"), BOOL("humanInLoop"),
                                         STR("byoProxyUrl", false, 2048), END};
static const field_spec cap_documents[] = {REQBOOL("libreofficeHeadless"), END};
static const field_spec cap_recording[] = {REQBOOL("enabled"), BOOL("browser"), END};
static const field_spec cap_storage[] = {NESTR("artifactPrefix", false, 256), END};
static const field_spec cap_proxy[] = {NESTR("url", true, 2048), END};
static const field_spec capabilities_fields[] = {OBJ("agent", false, cap_agent),       OBJ("browser", false, cap_browser),
                                                 OBJ("documents", false, cap_documents), OBJ("recording", false, cap_recording),
                                                 OBJ("storage", false, cap_storage),   OBJ("proxy", false, cap_proxy), END};
/* `network` is "none" | "internet" or {mode, allowOut?, denyOut?} (check_create);
 * the entries (CIDR or domain name) are checked by the worker, which resolves them. */
static const field_spec network_fields[] = {ENUM("mode", true, networks), STRS("allowOut", false, 64),
                                            STRS("denyOut", false, 64), END};
static const field_spec webhook_fields[] = {NESTR("url", true, 2048), NESTR("secret", true, 256),
                                            STRS("eventTypes", false, 64), END};

/* issue 13: periodic checkpoints (the auto-checkpoint branch builds the timer;
 * a crashed worker's sandbox with auto: true is restored from its latest one). */
static const field_spec ckpt_auto_fields[] = {BOOL("auto"), INT("intervalMs", false, 1000, DAY_MS), END};
static const field_spec create_fields[] = {
    STR("region", false, 3),          ENUM("runtime", false, runtimes),
    MAP("env", 256),                  OBJ("capabilities", false, capabilities_fields),
    OBJ("limits", false, limits_fields), {"network", K_ANY, false, 0, 0, NULL, NULL, NULL},
    INT("timeoutMs", false, 1, MAX_TIMEOUT_MS), INT("idleTimeoutMs", false, 1, MAX_TIMEOUT_MS),
    ENUM("onTimeout", false, on_timeouts), OBJ("webhook", false, webhook_fields),
    OBJ("checkpoint", false, ckpt_auto_fields), END};
static const field_spec pause_fields[] = {BOOL("persist"), END};
static const field_spec empty_fields[] = {END};
static const field_spec set_timeout_fields[] = {INT("timeoutMs", true, 1, MAX_TIMEOUT_MS), END};
static const field_spec exec_fields[] = {
    NESTR("command", true, 4096), STRS("args", false, 4096), NESTR("cwd", false, PATH_MAXLEN), MAP("env", 256),
    STR("stdin", false, 1 << 20), STR("stdinB64", false, 1 << 21), INT("timeoutMs", false, 1, MAX_TIMEOUT_MS),
    STRS("outputs", false, 64), END};
static const field_spec code_fields[] = {NESTR("code", true, 1 << 20), ENUM("language", false, languages),
                                         INT("timeoutMs", false, 1, MAX_TIMEOUT_MS), STRS("outputs", false, 64), END};
static const field_spec agent_fields[] = {NESTR("prompt", true, 1 << 18), ENUM("agent", false, agents),
                                          NESTR("model", false, 256), INT("maxSteps", false, 1, 1000),
                                          INT("timeoutMs", false, 1, MAX_TIMEOUT_MS), STRS("outputs", false, 64), END};
static const field_spec browser_action_fields[] = {
    ENUM("op", true, browser_ops), NESTR("url", false, 8192), NESTR("selector", false, 4096), STR("text", false, 1 << 16),
    NESTR("key", false, 64), INT("timeoutMs", false, 1, MAX_TIMEOUT_MS), NESTR("expression", false, 1 << 16),
    NESTR("path", false, PATH_MAXLEN), BOOL("fullPage"), INT("width", false, 1, 16384), INT("height", false, 1, 16384),
    END};
static const field_spec browser_fields[] = {OBJS("actions", true, 256, browser_action_fields),
                                            INT("timeoutMs", false, 1, MAX_TIMEOUT_MS), END};
static const field_spec document_fields[] = {NESTR("input", true, PATH_MAXLEN), NESTR("to", true, 16),
                                             NESTR("outdir", false, PATH_MAXLEN),
                                             INT("timeoutMs", false, 1, MAX_TIMEOUT_MS), END};
static const field_spec kill_fields[] = {BOOL("inOrder"), END};
static const field_spec cancel_fields[] = {ID("targetTaskId", true, "tsk"), END};
/* files.*: `path`, or `pathB64` (the same path as base64 bytes, for names that
 * are not UTF-8): exactly one of the two (check_files_path). */
#define PATH_B64_MAXLEN (PATH_MAXLEN / 3 * 4 + 4)
static const field_spec write_fields[] = {NESTR("path", false, PATH_MAXLEN),
                                          NESTR("pathB64", false, PATH_B64_MAXLEN),
                                          STR("content", false, 1 << 22),
                                          STR("contentB64", false, 1 << 22),
                                          INT("offset", false, 0, 1LL << 50),
                                          BOOL("append"),
                                          INT("mode", false, 0, 07777),
                                          END};
static const field_spec read_fields[] = {NESTR("path", false, PATH_MAXLEN), NESTR("pathB64", false, PATH_B64_MAXLEN),
                                         INT("offset", false, 0, 1LL << 50),
                                         INT("length", false, 0, 1LL << 50), END};
/* cursor: the base64 of a listed path (up to LIST_MAX_DEPTH names deep); limit: entries per page. */
static const field_spec list_fields[] = {NESTR("path", false, PATH_MAXLEN), NESTR("pathB64", false, PATH_B64_MAXLEN),
                                         BOOL("recursive"),
                                         NESTR("cursor", false, 16384), INT("limit", false, 1, 1000), END};
static const field_spec remove_fields[] = {NESTR("path", false, PATH_MAXLEN), NESTR("pathB64", false, PATH_B64_MAXLEN),
                                           BOOL("recursive"), END};
static const field_spec ckpt_create_fields[] = {ID("checkpointId", true, "chk"), STR("label", false, 256), END};
static const field_spec ckpt_restore_fields[] = {ID("checkpointId", true, "chk"), END};
static const field_spec handoff_request_fields[] = {ID("handoffId", true, "hnd"), ENUM("reason", true, handoff_reasons),
                                                    NESTR("message", true, 4096), STR("resumePrompt", false, 1 << 16),
                                                    INT("expiresInMs", false, 1, MAX_TIMEOUT_MS),
                                                    ENUM("requestedBy", false, handoff_requesters), END};
static const field_spec handoff_accept_fields[] = {ID("handoffId", true, "hnd"), NESTR("controller", true, 256),
                                                   ENUM("controlMode", false, handoff_modes), END};
static const field_spec handoff_complete_fields[] = {ID("handoffId", true, "hnd"), STR("note", false, 4096), END};
static const field_spec handoff_cancel_fields[] = {ID("handoffId", true, "hnd"), END};
static const field_spec preview_url_fields[] = {ENUM("mode", false, preview_modes), INT("ttlMs", false, 1, DAY_MS), END};

static const field_spec *const tables[SQ_REQ__COUNT] = {
    [SQ_REQ_SANDBOX_CREATE] = create_fields,
    [SQ_REQ_SANDBOX_PAUSE] = pause_fields,
    [SQ_REQ_SANDBOX_RESUME] = empty_fields,
    [SQ_REQ_SANDBOX_KILL] = kill_fields,
    [SQ_REQ_SANDBOX_SET_TIMEOUT] = set_timeout_fields,
    [SQ_REQ_TASK_EXEC] = exec_fields,
    [SQ_REQ_TASK_CODE] = code_fields,
    [SQ_REQ_TASK_AGENT] = agent_fields,
    [SQ_REQ_TASK_BROWSER] = browser_fields,
    [SQ_REQ_TASK_DOCUMENT] = document_fields,
    [SQ_REQ_TASK_CANCEL] = cancel_fields,
    [SQ_REQ_FILES_WRITE] = write_fields,
    [SQ_REQ_FILES_READ] = read_fields,
    [SQ_REQ_FILES_LIST] = list_fields,
    [SQ_REQ_FILES_REMOVE] = remove_fields,
    [SQ_REQ_CHECKPOINT_CREATE] = ckpt_create_fields,
    [SQ_REQ_CHECKPOINT_RESTORE] = ckpt_restore_fields,
    [SQ_REQ_CHECKPOINTS_LIST] = empty_fields,
    [SQ_REQ_HANDOFF_REQUEST] = handoff_request_fields,
    [SQ_REQ_HANDOFF_ACCEPT] = handoff_accept_fields,
    [SQ_REQ_HANDOFF_COMPLETE] = handoff_complete_fields,
    [SQ_REQ_HANDOFF_CANCEL] = handoff_cancel_fields,
    [SQ_REQ_PREVIEW_URL] = preview_url_fields,
};

static int bad(sq_err *err, const char *path, const char *fmt, const char *detail)
{
    char field[96];
    snprintf(field, sizeof field, "%s", path);
    return sq_err_field(err, SQ_INVALID_REQUEST, field, fmt, field, detail);
}

static void join(char *out, size_t n, const char *parent, const char *name)
{
    snprintf(out, n, "%s.%s", parent, name);
}

/* Environment variable names: a letter or '_' then letters, digits, '_'. */
static bool env_name_valid(const char *k)
{
    if (!*k || (*k >= '0' && *k <= '9'))
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
            return false;
    return true;
}

static int check_object(const field_spec *table, const json_t *obj, const char *path, sq_err *err);

static int check_value(const field_spec *f, const json_t *v, const char *path, sq_err *err)
{
    switch (f->kind) {
    case K_STR: {
        if (!json_is_string(v))
            return bad(err, path, "%s must be a string%s", "");
        long long n = (long long)json_string_length(v);
        if (n < f->min)
            return bad(err, path, "%s must not be empty%s", "");
        if (n > f->max)
            return bad(err, path, "%s is too long%s", "");
        const char *s = json_string_value(v);
        if (strlen(s) != (size_t)n)
            return bad(err, path, "%s must not contain NUL bytes%s", "");
        if (f->id_prefix && !sq_id_valid(s, f->id_prefix))
            return bad(err, path, "%s must be an id with prefix %s_", f->id_prefix);
        if (f->one_of) {
            for (const char *const *e = f->one_of; *e; e++)
                if (strcmp(*e, s) == 0)
                    return 0;
            return bad(err, path, "%s has a value that is not allowed%s", "");
        }
        return 0;
    }
    case K_INT:
        if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
            return bad(err, path, "%s must be an integer in range%s", "");
        return 0;
    case K_NUM:
        if (!json_is_number(v) || json_number_value(v) <= (double)f->min || json_number_value(v) > (double)f->max)
            return bad(err, path, "%s must be a positive number in range%s", "");
        return 0;
    case K_BOOL:
        if (!json_is_boolean(v))
            return bad(err, path, "%s must be true or false%s", "");
        return 0;
    case K_OBJ:
        if (!json_is_object(v))
            return bad(err, path, "%s must be an object%s", "");
        return check_object(f->fields, v, path, err);
    case K_STR_ARRAY: {
        if (!json_is_array(v) || (long long)json_array_size(v) > f->max)
            return bad(err, path, "%s must be an array of strings (bounded length)%s", "");
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
                char p[96];
                snprintf(p, sizeof p, "%s[%zu]", path, i);
                return bad(err, p, "%s must be a string without NUL bytes%s", "");
            }
        }
        return 0;
    }
    case K_STR_MAP: {
        if (!json_is_object(v) || (long long)json_object_size(v) > f->max)
            return bad(err, path, "%s must be an object of strings (bounded size)%s", "");
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            char p[96];
            join(p, sizeof p, path, k);
            if (!env_name_valid(k))
                return bad(err, p, "%s: not a valid variable name%s", "");
            if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
                return bad(err, p, "%s must be a string without NUL bytes%s", "");
        }
        return 0;
    }
    case K_OBJ_ARRAY: {
        if (!json_is_array(v) || (long long)json_array_size(v) < f->min || (long long)json_array_size(v) > f->max)
            return bad(err, path, "%s must be a non-empty array of objects (bounded length)%s", "");
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            char p[96];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            if (!json_is_object(e))
                return bad(err, p, "%s must be an object%s", "");
            if (check_object(f->fields, e, p, err) < 0)
                return -1;
        }
        return 0;
    }
    case K_ANY:
        return 0;
    }
    return 0;
}

static int check_object(const field_spec *table, const json_t *obj, const char *path, sq_err *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        const field_spec *f = table;
        while (f->name && strcmp(f->name, k) != 0)
            f++;
        char p[96];
        join(p, sizeof p, path, k);
        if (!f->name)
            return bad(err, p, "%s is not a known field%s", "");
        if (check_value(f, v, p, err) < 0)
            return -1;
    }
    for (const field_spec *f = table; f->name; f++) {
        if (f->required && !json_object_get(obj, f->name)) {
            char p[96];
            join(p, sizeof p, path, f->name);
            return bad(err, p, "%s is required%s", "");
        }
    }
    return 0;
}

/* Padded standard base64 (schema/common.json "base64"): what sq_b64_decode
 * will accept later, so a request is refused here rather than failing mid-task. */
static bool b64_valid(const char *s, size_t n)
{
    if (n % 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')
            continue;
        if (c == '=' && i + 2 >= n && s[n - 1] == '=')
            continue;
        return false;
    }
    return true;
}

/* Rules a table cannot express. */

/* path or pathB64: exactly one (at most one for files.list, whose default is
 * /workspace). pathB64 must decode to a path: no NUL, at most PATH_MAXLEN bytes. */
static int check_files_path(const json_t *body, bool required, sq_err *err)
{
    const json_t *p = json_object_get(body, "path"), *b = json_object_get(body, "pathB64");
    if (p && b)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.pathB64", "give one of path and pathB64, not both");
    if (!p && !b && required)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.path", "path (or pathB64) is required");
    if (!b)
        return 0;
    size_t n = json_string_length(b);
    const char *s = json_string_value(b);
    unsigned char raw[PATH_B64_MAXLEN];
    long len = b64_valid(s, n) ? sq_b64_decode(s, n, raw) : -1;
    if (len < 0)
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.pathB64", "pathB64 is not valid base64");
    if (len == 0 || len > PATH_MAXLEN || memchr(raw, '\0', (size_t)len))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.pathB64",
                            "pathB64 must decode to 1 to %d bytes without NUL", PATH_MAXLEN);
    return 0;
}

static int check_files_write(const json_t *body, sq_err *err)
{
    if (check_files_path(body, true, err) < 0)
        return -1;
    const json_t *c = json_object_get(body, "content"), *b = json_object_get(body, "contentB64");
    if ((c && b) || (!c && !b))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.content", "give exactly one of content and contentB64");
    size_t raw = 0;
    if (b) {
        size_t n = json_string_length(b);
        const char *s = json_string_value(b);
        if (!b64_valid(s, n))
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.contentB64", "contentB64 is not valid base64");
        raw = n / 4 * 3 - (n && s[n - 1] == '=') - (n > 1 && s[n - 2] == '=');
    } else {
        raw = json_string_length(c);
    }
    if (raw > SQ_FILE_CHUNK_MAX)
        return sq_err_field(err, SQ_PAYLOAD_TOO_LARGE, b ? "body.contentB64" : "body.content",
                            "a files.write chunk carries at most %d bytes; send larger files as ordered chunks",
                            SQ_FILE_CHUNK_MAX);
    if (json_object_get(body, "offset") && json_is_true(json_object_get(body, "append")))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.append", "offset and append cannot be combined");
    return 0;
}

static int check_files_list(const json_t *body, sq_err *err)
{
    if (check_files_path(body, false, err) < 0)
        return -1;
    const json_t *c = json_object_get(body, "cursor");
    if (c && !b64_valid(json_string_value(c), json_string_length(c)))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.cursor", "cursor is not one a listing returned");
    return 0;
}

static int check_exec(const json_t *body, sq_err *err)
{
    if (json_object_get(body, "stdin") && json_object_get(body, "stdinB64"))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.stdin", "give at most one of stdin and stdinB64");
    const json_t *b = json_object_get(body, "stdinB64");
    if (b && !b64_valid(json_string_value(b), json_string_length(b)))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.stdinB64", "stdinB64 is not valid base64");
    return 0;
}

static int check_browser(const json_t *body, sq_err *err)
{
    static const struct {
        const char *op;
        const char *needs[2];
    } needs[] = {{"goto", {"url", NULL}},         {"click", {"selector", NULL}},       {"type", {"selector", "text"}},
                 {"press", {"key", NULL}},        {"waitFor", {"selector", NULL}},     {"evaluate", {"expression", NULL}},
                 {"pdf", {"path", NULL}},         {"setViewport", {"width", "height"}}};
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(body, "actions"), i, a)
    {
        const char *op = json_string_value(json_object_get(a, "op"));
        for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
            if (strcmp(needs[k].op, op) != 0)
                continue;
            for (int j = 0; j < 2 && needs[k].needs[j]; j++) {
                if (!json_object_get(a, needs[k].needs[j])) {
                    char p[96];
                    snprintf(p, sizeof p, "body.actions[%zu].%s", i, needs[k].needs[j]);
                    return sq_err_field(err, SQ_INVALID_REQUEST, p, "%s is required for op %s", p, op);
                }
            }
        }
    }
    return 0;
}

/* s is one of the schemes ("https://") followed by at least one character and
 * no whitespace: the schema's "^https?://[^\\s]+$". Anything else (file://,
 * gopher://, a bare host) never reaches curl. */
static bool url_valid(const char *s, const char *const *schemes)
{
    for (const char *const *sc = schemes; *sc; sc++) {
        size_t n = strlen(*sc);
        if (strncmp(s, *sc, n) != 0 || s[n] == '\0')
            continue;
        for (const char *p = s + n; *p; p++)
            if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
                return false;
        return true;
    }
    return false;
}

/* "whsec_" + base64 (schema: "^whsec_[A-Za-z0-9+/]+={0,2}$"). */
static bool webhook_secret_valid(const char *s)
{
    if (strncmp(s, "whsec_", 6) != 0)
        return false;
    s += 6;
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    if (n == 0)
        return false;
    size_t pad = strspn(s + n, "=");
    return pad <= 2 && s[n + pad] == '\0';
}

static int check_create(const json_t *body, sq_err *err)
{
    static const char *const web[] = {"http://", "https://", NULL};
    static const char *const proxy[] = {"http://", "https://", "socks5://", "socks5h://", NULL};
    const json_t *region = json_object_get(body, "region");
    if (region && !sq_region_valid(json_string_value(region)))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.region", "region must be three lowercase letters");
    const json_t *webhook = json_object_get(body, "webhook");
    const json_t *url = json_object_get(webhook, "url");
    if (url && !url_valid(json_string_value(url), web))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.webhook.url", "a webhook url is http:// or https://");
    const json_t *secret = json_object_get(webhook, "secret");
    if (secret && !webhook_secret_valid(json_string_value(secret)))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.webhook.secret",
                            "a webhook secret is whsec_ followed by base64");
    size_t i;
    const json_t *type;
    json_array_foreach(json_object_get(webhook, "eventTypes"), i, type) {
        if (!sq_event_type_filter_valid(json_string_value(type))) {
            char field[64];
            snprintf(field, sizeof field, "body.webhook.eventTypes[%zu]", i);
            return sq_err_field(err, SQ_INVALID_REQUEST, field,
                                "an event type filter is an event type or a prefix ending in .* (sandbox.task.*)");
        }
    }
    const json_t *proxy_url =
        json_object_get(json_object_get(json_object_get(body, "capabilities"), "browser"), "byoProxyUrl");
    if (proxy_url && !url_valid(json_string_value(proxy_url), proxy))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.capabilities.browser.byoProxyUrl",
                            "a proxy url is http://, https://, socks5:// or socks5h://");
    const json_t *cap_proxy_url =
        json_object_get(json_object_get(json_object_get(body, "capabilities"), "proxy"), "url");
    if (cap_proxy_url && !url_valid(json_string_value(cap_proxy_url), proxy))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.capabilities.proxy.url",
                            "a proxy url is http://, https://, socks5:// or socks5h://");
    const json_t *network = json_object_get(body, "network");
    if (json_is_object(network))
        return check_object(network_fields, network, "body.network", err);
    if (network) {
        const char *mode = json_string_value(network);
        if (!mode || (strcmp(mode, "none") != 0 && strcmp(mode, "internet") != 0))
            return sq_err_field(err, SQ_INVALID_REQUEST, "body.network",
                                "network is \"none\", \"internet\" or {mode, allowOut?, denyOut?}");
    }
    return 0;
}

/* The target format becomes part of a converter's command line and of the
 * output file name: schema "^[a-z0-9]{1,16}$" (the table already bounds length). */
static int check_document(const json_t *body, sq_err *err)
{
    const char *to = json_string_value(json_object_get(body, "to"));
    if (to[strspn(to, "abcdefghijklmnopqrstuvwxyz0123456789")] != '\0')
        return sq_err_field(err, SQ_INVALID_REQUEST, "body.to", "to is a format name: lowercase letters and digits");
    return 0;
}

int sq_body_validate(sq_req_type type, const json_t *body, sq_err *err)
{
    if ((int)type <= 0 || type >= SQ_REQ__COUNT)
        return sq_err_field(err, SQ_UNKNOWN_TYPE, "type", "unknown request type");
    if (!json_is_object(body))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body", "body must be an object");
    if (check_object(tables[type], body, "body", err) < 0)
        return -1;
    switch (type) {
    case SQ_REQ_SANDBOX_CREATE: return check_create(body, err);
    case SQ_REQ_TASK_EXEC: return check_exec(body, err);
    case SQ_REQ_TASK_BROWSER: return check_browser(body, err);
    case SQ_REQ_TASK_DOCUMENT: return check_document(body, err);
    case SQ_REQ_FILES_WRITE: return check_files_write(body, err);
    case SQ_REQ_FILES_LIST: return check_files_list(body, err);
    case SQ_REQ_FILES_READ:
    case SQ_REQ_FILES_REMOVE: return check_files_path(body, true, err);
    default: return 0;
    }
}
