/* audit_row.c — see audit_row.h. */
#include "caps/recording/audit_row.h"

#include <string.h>

/* A copy of v with long strings cut and the keys that carry content or
 * secrets left out. */
static json_t *trimmed(const json_t *v)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n <= SQ_AUDIT_STRING_MAX)
            return json_deep_copy(v);
        /* cut on a character boundary */
        const char *s = json_string_value(v);
        size_t cut = SQ_AUDIT_STRING_MAX;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        json_t *out = json_stringn(s, cut);
        return out ? out : json_string("");
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        const json_t *e;
        json_array_foreach((json_t *)v, i, e) json_array_append_new(a, trimmed(e));
        return a;
    }
    if (json_is_object(v)) {
        static const char *const drop[] = {"env", "stdin", "stdinB64", "content", "contentB64", "data",
                                           "dataB64"};
        json_t *o = json_object();
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            bool skip = false;
            for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
                skip = skip || strcmp(k, drop[i]) == 0;
            if (!skip)
                json_object_set_new(o, k, trimmed(e));
        }
        return o;
    }
    return json_deep_copy(v);
}

static const char *kind_category(const char *kind)
{
    if (!kind)
        return "other";
    if (strcmp(kind, "exec") == 0 || strcmp(kind, "code") == 0)
        return "command";
    if (strcmp(kind, "files") == 0)
        return "file";
    if (strcmp(kind, "browser") == 0)
        return "browser";
    if (strcmp(kind, "agent") == 0)
        return "agent";
    return "other";
}

static void copy_keys(json_t *to, const json_t *from, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(from, *keys);
        if (v)
            json_object_set_new(to, *keys, trimmed(v));
    }
}

/* What of the request an outcome row repeats, so each row stands alone. */
static void request_summary(json_t *d, const char *category, const char *req_type, const json_t *body)
{
    if (!body)
        return;
    if (strcmp(category, "command") == 0) {
        const json_t *cmd = json_object_get(body, "command");
        if (cmd) {
            json_t *argv = json_array();
            json_array_append_new(argv, trimmed(cmd));
            size_t i;
            const json_t *a;
            json_array_foreach(json_object_get(body, "args"), i, a) json_array_append_new(argv, trimmed(a));
            json_object_set_new(d, "argv", argv);
            const json_t *cwd = json_object_get(body, "cwd");
            json_object_set_new(d, "cwd", cwd ? trimmed(cwd) : json_string("/workspace"));
        } else {
            static const char *const k[] = {"language", NULL};
            copy_keys(d, body, k);
            json_object_set_new(d, "codeBytes", json_integer((json_int_t)json_string_length(json_object_get(body, "code"))));
        }
    } else if (strcmp(category, "file") == 0) {
        json_object_set_new(d, "op", json_string(req_type ? req_type : ""));
        static const char *const k[] = {"path", "pathB64", "to", "recursive", NULL};
        copy_keys(d, body, k);
    } else if (strcmp(category, "browser") == 0) {
        json_object_set_new(d, "actions", json_integer((json_int_t)json_array_size(json_object_get(body, "actions"))));
    }
}

json_t *sq_audit_row(const sq_redactor *r, const char *event_type, const json_t *data, const char *req_type,
                     const json_t *req_body, const char **category)
{
    const char *kind = json_string_value(json_object_get(data, "kind"));
    json_t *d = json_object();
    if (!d)
        return NULL;
    if (strcmp(event_type, "sandbox.task.output") == 0) {
        json_decref(d);
        return NULL;
    } else if (strcmp(event_type, "request.rejected") == 0) {
        *category = "rejected";
        static const char *const k[] = {"code", "message", "field", NULL};
        copy_keys(d, data, k);
    } else if (strcmp(event_type, "sandbox.task.queued") == 0) {
        *category = "request";
        json_object_set_new(d, "kind", json_string(kind ? kind : ""));
        if (req_body)
            json_object_set_new(d, "request", trimmed(req_body));
    } else if (strncmp(event_type, "sandbox.task.", 13) == 0) {
        *category = kind_category(kind);
        json_t *t = trimmed(data);
        json_object_del(t, "result"); /* a file's content, a command's output: not the trail's */
        json_object_update(d, t);
        json_decref(t);
        if (strcmp(event_type, "sandbox.task.completed") == 0 || strcmp(event_type, "sandbox.task.failed") == 0)
            request_summary(d, *category, req_type, req_body);
        else if (strcmp(event_type, "sandbox.task.progress") == 0 && strcmp(*category, "browser") == 0) {
            /* the action itself, as asked (typed text redacted with the rest) */
            const json_t *idx = json_object_get(data, "index");
            const json_t *act = json_array_get(json_object_get(req_body, "actions"), (size_t)json_integer_value(idx));
            if (json_is_integer(idx) && act)
                json_object_set_new(d, "action", trimmed(act));
        }
    } else if (strcmp(event_type, "sandbox.artifacts.updated") == 0) {
        *category = "artifacts";
        json_t *t = trimmed(data);
        json_object_update(d, t);
        json_decref(t);
        /* a download URL is a credential until it expires: the id finds the artifact */
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(d, "artifacts"), i, a) json_object_del(a, "url");
    } else if (strncmp(event_type, "sandbox.agent.", 14) == 0) {
        *category = "agent";
        json_t *t = trimmed(data);
        json_object_update(d, t);
        json_decref(t);
    } else {
        *category = strncmp(event_type, "sandbox.", 8) == 0 ? "state" : "other";
        json_t *t = trimmed(data);
        json_object_update(d, t);
        json_decref(t);
    }
    json_t *red = sq_redact_json(r, d);
    json_decref(d);
    return red;
}
