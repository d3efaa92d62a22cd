/* handoff_state.c — see handoff_state.h. */
#include "handoff/handoff_state.h"

#include <string.h>

static const char *const status_names[] = {"pending", "accepted", "completed", "cancelled", "expired"};
static const char *const event_types[] = {"sandbox.handoff.requested", "sandbox.handoff.accepted",
                                          "sandbox.handoff.completed", "sandbox.handoff.cancelled",
                                          "sandbox.handoff.expired"};
static const char *const mode_names[] = {"ai", "human", "shared"};

void sq_handoff_book_init(sq_handoff_book *b)
{
    memset(b, 0, sizeof *b);
    b->open = -1;
    b->mode = SQ_CONTROL_AI;
}

void sq_handoff_book_free(sq_handoff_book *b)
{
    for (int i = 0; i < b->count; i++)
        json_decref(b->items[i].data);
    sq_handoff_book_init(b);
}

const char *sq_handoff_status_name(sq_handoff_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "pending";
}

const char *sq_handoff_event_type(sq_handoff_status s)
{
    return (unsigned)s < 5 ? event_types[s] : event_types[0];
}

const char *sq_control_mode_name(sq_control_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "ai";
}

bool sq_control_mode_parse(const char *name, sq_control_mode *out)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (sq_control_mode)i;
            return true;
        }
    return false;
}

bool sq_handoff_human_may_act(const sq_handoff_book *b)
{
    return b->open >= 0 && b->items[b->open].status == SQ_HANDOFF_ACCEPTED && b->mode != SQ_CONTROL_AI;
}

bool sq_handoff_agent_may_act(const sq_handoff_book *b)
{
    return b->mode != SQ_CONTROL_HUMAN;
}

int sq_handoff_find(const sq_handoff_book *b, const char *handoff_id)
{
    for (int i = b->count - 1; i >= 0; i--)
        if (strcmp(json_string_value(json_object_get(b->items[i].data, "handoffId")), handoff_id) == 0)
            return i;
    return -1;
}

/* Set status and controlMode in the data: every event carries both. */
static void stamp(sq_handoff_book *b, int i, sq_handoff_status s)
{
    b->items[i].status = s;
    json_object_set_new(b->items[i].data, "status", json_string(status_names[s]));
    json_object_set_new(b->items[i].data, "controlMode", json_string(mode_names[b->mode]));
}

/* A finished hand-off: control returns to the agent. */
static int close_open(sq_handoff_book *b, int i, sq_handoff_status s, int64_t now)
{
    b->mode = SQ_CONTROL_AI;
    b->open = -1;
    if (s == SQ_HANDOFF_COMPLETED)
        json_object_set_new(b->items[i].data, "completedAt", json_integer(now));
    stamp(b, i, s);
    return i;
}

/* Room for one more: drop the oldest finished hand-off (never the open one). */
static void make_room(sq_handoff_book *b)
{
    if (b->count < SQ_HANDOFF_KEEP)
        return;
    int drop = b->open == 0 ? 1 : 0;
    json_decref(b->items[drop].data);
    memmove(&b->items[drop], &b->items[drop + 1], (size_t)(b->count - drop - 1) * sizeof b->items[0]);
    b->count--;
    if (b->open > drop)
        b->open--;
}

int sq_handoff_request(sq_handoff_book *b, const json_t *body, const char *requested_by, int64_t now, sq_err *why)
{
    const char *id = json_string_value(json_object_get(body, "handoffId"));
    if (!id)
        return sq_err_field(why, SQ_INVALID_REQUEST, "body.handoffId", "handoffId is required");
    if (sq_handoff_find(b, id) >= 0)
        return sq_err_field(why, SQ_INVALID_STATE, "body.handoffId", "hand-off %s was already requested", id);
    if (b->open >= 0)
        return sq_err_set(why, SQ_INVALID_STATE, "hand-off %s is still %s: complete or cancel it first",
                          json_string_value(json_object_get(b->items[b->open].data, "handoffId")),
                          status_names[b->items[b->open].status]);
    json_t *ms = json_object_get(body, "expiresInMs");
    int64_t expiry = json_is_integer(ms) && json_integer_value(ms) > 0 ? json_integer_value(ms)
                                                                        : SQ_HANDOFF_DEFAULT_EXPIRY_MS;
    json_t *data = json_pack("{s:s, s:O, s:O, s:s, s:I, s:I}", "handoffId", id, "reason",
                             json_object_get(body, "reason"), "message", json_object_get(body, "message"),
                             "requestedBy", requested_by, "requestedAt", (json_int_t)now, "expiresAt",
                             (json_int_t)(now + expiry));
    if (!data)
        return sq_err_set(why, SQ_INVALID_REQUEST, "reason and message are required");
    json_t *rp = json_object_get(body, "resumePrompt");
    if (json_is_string(rp))
        json_object_set(data, "resumePrompt", rp);
    make_room(b);
    int i = b->count++;
    b->items[i] = (sq_handoff){.status = SQ_HANDOFF_PENDING, .expires_at = now + expiry, .data = data};
    b->open = i;
    stamp(b, i, SQ_HANDOFF_PENDING);
    return i;
}

/* The open hand-off named handoff_id, in one of the allowed statuses. */
static int find_open(sq_handoff_book *b, const char *handoff_id, bool pending_ok, bool accepted_ok, const char *what,
                     sq_err *why)
{
    int i = sq_handoff_find(b, handoff_id);
    if (i < 0)
        return sq_err_field(why, SQ_HANDOFF_NOT_FOUND, "body.handoffId", "no hand-off %s on this sandbox",
                            handoff_id);
    sq_handoff_status s = b->items[i].status;
    if ((s == SQ_HANDOFF_PENDING && pending_ok) || (s == SQ_HANDOFF_ACCEPTED && accepted_ok))
        return i;
    return sq_err_field(why, SQ_INVALID_STATE, "body.handoffId", "hand-off %s is %s: it cannot be %s", handoff_id,
                        status_names[s], what);
}

int sq_handoff_accept(sq_handoff_book *b, const char *handoff_id, const char *controller, sq_control_mode mode,
                      int64_t now, sq_err *why)
{
    int i = find_open(b, handoff_id, true, false, "accepted", why);
    if (i < 0)
        return -1;
    b->mode = mode == SQ_CONTROL_SHARED ? SQ_CONTROL_SHARED : SQ_CONTROL_HUMAN;
    json_object_set_new(b->items[i].data, "controller", json_string(controller));
    json_object_set_new(b->items[i].data, "acceptedAt", json_integer(now));
    stamp(b, i, SQ_HANDOFF_ACCEPTED);
    return i;
}

int sq_handoff_complete(sq_handoff_book *b, const char *handoff_id, const char *note, int64_t now, sq_err *why)
{
    int i = find_open(b, handoff_id, false, true, "completed (accept it first)", why);
    if (i < 0)
        return -1;
    if (note)
        json_object_set_new(b->items[i].data, "note", json_string(note));
    return close_open(b, i, SQ_HANDOFF_COMPLETED, now);
}

int sq_handoff_cancel(sq_handoff_book *b, const char *handoff_id, int64_t now, sq_err *why)
{
    int i = find_open(b, handoff_id, true, true, "cancelled", why);
    if (i < 0)
        return -1;
    return close_open(b, i, SQ_HANDOFF_CANCELLED, now);
}

int sq_handoff_expire_due(sq_handoff_book *b, int64_t now)
{
    if (b->open < 0 || b->items[b->open].expires_at > now)
        return -1;
    return close_open(b, b->open, SQ_HANDOFF_EXPIRED, now);
}

int64_t sq_handoff_next_expiry(const sq_handoff_book *b)
{
    return b->open >= 0 ? b->items[b->open].expires_at : -1;
}
