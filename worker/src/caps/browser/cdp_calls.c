/* cdp_calls.c — see cdp_calls.h. No I/O. */
#include "caps/browser/cdp_calls.h"

#include <stdio.h>
#include <string.h>

void sq_cdp_waiters_init(sq_cdp_waiters *ws)
{
    memset(ws, 0, sizeof *ws);
}

void sq_cdp_waiters_clear(sq_cdp_waiters *ws)
{
    for (int i = 0; i < SQ_CDP_MAX_WAITERS; i++) {
        json_decref(ws->w[i].msg);
        memset(&ws->w[i], 0, sizeof ws->w[i]);
    }
}

int64_t sq_cdp_next_id(sq_cdp_waiters *ws)
{
    return ++ws->last_id;
}

static int free_slot(sq_cdp_waiters *ws)
{
    for (int i = 0; i < SQ_CDP_MAX_WAITERS; i++)
        if (!ws->w[i].used)
            return i;
    return -1;
}

int sq_cdp_expect_response(sq_cdp_waiters *ws, int64_t id)
{
    int s = id > 0 ? free_slot(ws) : -1;
    if (s >= 0)
        ws->w[s] = (sq_cdp_waiter){.used = true, .id = id};
    return s;
}

int sq_cdp_expect_event(sq_cdp_waiters *ws, const char *method, const char *session)
{
    if (!method || strlen(method) >= SQ_CDP_NAME_MAX || (session && strlen(session) >= SQ_CDP_NAME_MAX))
        return -1;
    int s = free_slot(ws);
    if (s < 0)
        return -1;
    ws->w[s] = (sq_cdp_waiter){.used = true};
    snprintf(ws->w[s].method, sizeof ws->w[s].method, "%s", method);
    snprintf(ws->w[s].session, sizeof ws->w[s].session, "%s", session ? session : "");
    return s;
}

int sq_cdp_collect_events(sq_cdp_waiters *ws, const char *method, const char *session)
{
    int s = sq_cdp_expect_event(ws, method, session);
    if (s >= 0) {
        ws->w[s].collect = true;
        ws->w[s].msg = json_array();
    }
    return s;
}

const json_t *sq_cdp_collected(const sq_cdp_waiters *ws, int slot)
{
    if (slot < 0 || slot >= SQ_CDP_MAX_WAITERS || !ws->w[slot].used || !ws->w[slot].collect)
        return NULL;
    return ws->w[slot].msg;
}

int sq_cdp_offer(sq_cdp_waiters *ws, json_t *msg)
{
    if (!json_is_object(msg))
        return -1;
    const json_t *idv = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    const char *session = json_string_value(json_object_get(msg, "sessionId"));
    if (!session)
        session = "";
    for (int i = 0; i < SQ_CDP_MAX_WAITERS; i++) {
        sq_cdp_waiter *w = &ws->w[i];
        if (!w->used || w->done)
            continue;
        bool match = idv ? (json_is_integer(idv) && w->id == json_integer_value(idv))
                         : (method && w->id == 0 && strcmp(w->method, method) == 0 && strcmp(w->session, session) == 0);
        if (match && w->collect) {
            json_array_append(w->msg, msg);
            return i;
        }
        if (match) {
            w->done = true;
            w->msg = json_incref(msg);
            return i;
        }
    }
    return -1;
}

bool sq_cdp_done(const sq_cdp_waiters *ws, int slot)
{
    return slot >= 0 && slot < SQ_CDP_MAX_WAITERS && ws->w[slot].used && ws->w[slot].done;
}

json_t *sq_cdp_take(sq_cdp_waiters *ws, int slot)
{
    if (slot < 0 || slot >= SQ_CDP_MAX_WAITERS)
        return NULL;
    json_t *m = ws->w[slot].msg;
    memset(&ws->w[slot], 0, sizeof ws->w[slot]);
    return m;
}

char *sq_cdp_request_text(int64_t id, const char *method, const json_t *params, const char *session)
{
    json_t *o = json_pack("{s:I, s:s}", "id", (json_int_t)id, "method", method);
    if (!o)
        return NULL;
    json_object_set_new(o, "params", params ? json_deep_copy(params) : json_object());
    if (session && session[0])
        json_object_set_new(o, "sessionId", json_string(session));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

bool sq_cdp_response_error(const json_t *msg, char *buf, size_t size)
{
    const json_t *e = json_object_get(msg, "error");
    if (!e)
        return false;
    const char *m = json_string_value(json_object_get(e, "message"));
    const char *d = json_string_value(json_object_get(e, "data"));
    snprintf(buf, size, "%s%s%s (%lld)", m ? m : "error", d ? ": " : "", d ? d : "",
             (long long)json_integer_value(json_object_get(e, "code")));
    return true;
}
