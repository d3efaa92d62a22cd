/* chat.c — see chat.h. */
#include "caps/agent/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sq_chat_reply_free(sq_chat_reply *r)
{
    free(r->content);
    for (int i = 0; i < r->ncalls; i++) {
        free(r->calls[i].id);
        free(r->calls[i].name);
        free(r->calls[i].args);
    }
    memset(r, 0, sizeof *r);
}

static int fail(sq_chat_reply *r, const char *msg)
{
    r->is_error = true;
    snprintf(r->error, sizeof r->error, "%s", msg);
    return -1;
}

static int append(char **buf, size_t *len, const char *s, size_t n)
{
    if (*len + n > SQ_CHAT_MAX_TEXT)
        return -1;
    char *b = realloc(*buf, *len + n + 1);
    if (!b)
        return -1;
    memcpy(b + *len, s, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return 0;
}

static void set_str(char **dst, const char *s)
{
    if (!s)
        return;
    free(*dst);
    *dst = strdup(s);
}

static void take_error(sq_chat_reply *r, const json_t *e)
{
    r->is_error = true;
    const char *m = json_string_value(json_object_get(e, "message"));
    if (!m && json_is_string(e))
        m = json_string_value(e);
    const json_t *code = json_object_get(e, "code");
    if (json_is_integer(code))
        r->error_status = (int)json_integer_value(code);
    snprintf(r->error, sizeof r->error, "%s", m ? m : "the model endpoint answered with an error object");
}

static void take_usage(sq_chat_reply *r, const json_t *u)
{
    if (!json_is_object(u))
        return;
    r->has_usage = true;
    r->prompt_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
    r->completion_tokens = json_integer_value(json_object_get(u, "completion_tokens"));
    const json_t *c = json_object_get(u, "cost");
    if (json_is_number(c)) {
        r->has_cost = true;
        r->cost = json_number_value(c);
    }
}

static int take_finish(sq_chat_reply *r, const json_t *choice)
{
    const char *f = json_string_value(json_object_get(choice, "finish_reason"));
    if (f)
        snprintf(r->finish, sizeof r->finish, "%s", f);
    /* OpenRouter reports a provider failure mid-stream as finish_reason "error". */
    if (f && strcmp(f, "error") == 0 && !r->is_error)
        return fail(r, "the model stopped with finish_reason \"error\"");
    return 0;
}

/* One delta.tool_calls element: the first fragment of an index carries id
 * and name, later ones only more of the arguments string. */
static int take_call_fragment(sq_chat_reply *r, const json_t *tc, int position)
{
    const json_t *ix = json_object_get(tc, "index");
    int i = json_is_integer(ix) ? (int)json_integer_value(ix) : position;
    if (i < 0 || i >= SQ_CHAT_MAX_CALLS)
        return fail(r, "the model sent a tool call index out of range");
    while (r->ncalls <= i)
        r->ncalls++;
    sq_chat_call *c = &r->calls[i];
    set_str(&c->id, json_string_value(json_object_get(tc, "id")));
    const json_t *fn = json_object_get(tc, "function");
    const char *name = json_string_value(json_object_get(fn, "name"));
    if (name && *name) {
        if (c->name && strcmp(c->name, name) != 0) {
            /* Some providers repeat the name on every fragment; others send it in pieces. */
            size_t l = strlen(c->name);
            if (strncmp(name, c->name, l) != 0) {
                size_t nl = strlen(name);
                char *joined = malloc(l + nl + 1);
                if (!joined)
                    return fail(r, "out of memory");
                memcpy(joined, c->name, l);
                memcpy(joined + l, name, nl + 1);
                free(c->name);
                c->name = joined;
            } else {
                set_str(&c->name, name);
            }
        } else {
            set_str(&c->name, name);
        }
    }
    const json_t *a = json_object_get(fn, "arguments");
    if (json_is_string(a) && append(&c->args, &c->args_len, json_string_value(a), json_string_length(a)) < 0)
        return fail(r, "a tool call's arguments exceed 1 MiB");
    if (json_is_object(a)) { /* a few servers send the arguments as an object */
        char *s = json_dumps(a, JSON_COMPACT);
        int rc = s ? append(&c->args, &c->args_len, s, strlen(s)) : -1;
        free(s);
        if (rc < 0)
            return fail(r, "a tool call's arguments exceed 1 MiB");
    }
    return 0;
}

int sq_chat_apply_chunk(sq_chat_reply *r, const char *text, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j)
        return fail(r, "the model endpoint sent a stream event that is not JSON");
    int rc = 0;
    const json_t *e = json_object_get(j, "error");
    if (e) {
        take_error(r, e);
        rc = -1;
        goto out;
    }
    take_usage(r, json_object_get(j, "usage"));
    const json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    if (!choice)
        goto out; /* a usage-only chunk */
    const json_t *d = json_object_get(choice, "delta");
    const json_t *c = json_object_get(d, "content");
    if (json_is_string(c) && append(&r->content, &r->content_len, json_string_value(c), json_string_length(c)) < 0) {
        rc = fail(r, "the reply's content exceeds 1 MiB");
        goto out;
    }
    size_t k;
    const json_t *tc;
    json_array_foreach(json_object_get(d, "tool_calls"), k, tc)
    {
        if ((rc = take_call_fragment(r, tc, (int)k)) < 0)
            goto out;
    }
    rc = take_finish(r, choice);
out:
    json_decref(j);
    return rc;
}

int sq_chat_apply_full(sq_chat_reply *r, const char *text, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j)
        return fail(r, "the model endpoint answered with a body that is not JSON");
    int rc = 0;
    const json_t *e = json_object_get(j, "error");
    const json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    if (e) {
        take_error(r, e);
        rc = -1;
        goto out;
    }
    if (!choice) {
        rc = fail(r, "the model endpoint answered without choices");
        goto out;
    }
    take_usage(r, json_object_get(j, "usage"));
    const json_t *m = json_object_get(choice, "message");
    const json_t *c = json_object_get(m, "content");
    if (json_is_string(c) && append(&r->content, &r->content_len, json_string_value(c), json_string_length(c)) < 0) {
        rc = fail(r, "the reply's content exceeds 1 MiB");
        goto out;
    }
    size_t k;
    const json_t *tc;
    json_array_foreach(json_object_get(m, "tool_calls"), k, tc)
    {
        if (k >= SQ_CHAT_MAX_CALLS) {
            rc = fail(r, "the model sent more than 64 tool calls in one reply");
            goto out;
        }
        json_t *copy = json_deep_copy(tc);
        json_object_set_new(copy, "index", json_integer((json_int_t)k));
        rc = take_call_fragment(r, copy, (int)k);
        json_decref(copy);
        if (rc < 0)
            goto out;
    }
    rc = take_finish(r, choice);
out:
    json_decref(j);
    return rc;
}

json_t *sq_chat_reply_message(sq_chat_reply *r, int step)
{
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string("assistant"));
    json_object_set_new(m, "content", r->content ? json_stringn(r->content, r->content_len) : json_null());
    if (!json_object_get(m, "content")) /* not UTF-8 */
        json_object_set_new(m, "content", json_string(""));
    if (r->ncalls == 0)
        return m;
    json_t *calls = json_array();
    for (int i = 0; i < r->ncalls; i++) {
        sq_chat_call *c = &r->calls[i];
        if (!c->id || !*c->id) {
            char id[48];
            snprintf(id, sizeof id, "call_s%d_%d", step, i);
            set_str(&c->id, id);
        }
        json_t *args = c->args ? json_stringn(c->args, c->args_len) : json_string("");
        json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s, s:o}}", "id", c->id, "type", "function",
                                               "function", "name", c->name ? c->name : "", "arguments",
                                               args ? args : json_string("")));
    }
    json_object_set_new(m, "tool_calls", calls);
    return m;
}

void sq_chat_error_text(const char *body, size_t len, char *out, size_t out_size, int *code)
{
    *code = 0;
    json_error_t je;
    json_t *j = body && len ? json_loadb(body, len, 0, &je) : NULL;
    const json_t *e = json_object_get(j, "error");
    const char *m = json_string_value(json_object_get(e, "message"));
    if (!m)
        m = json_string_value(e);
    if (!m)
        m = json_string_value(json_object_get(j, "message"));
    if (json_is_integer(json_object_get(e, "code")))
        *code = (int)json_integer_value(json_object_get(e, "code"));
    if (m) {
        snprintf(out, out_size, "%s", m);
    } else {
        size_t n = len < 200 ? len : 200;
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < out_size; i++)
            out[k++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
        out[k] = '\0';
    }
    json_decref(j);
}
