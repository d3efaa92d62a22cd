/* cdp_calls.h — what the CDP client is waiting for, as pure state.
 *
 * A CDP message from the browser is one of: a response ({"id", "result"} or
 * {"id", "error"}), or an event ({"method", "params"}); with flattened
 * sessions (Target.attachToTarget flatten:true) both carry the "sessionId" of
 * the page they are about. The client registers a waiter before it sends a
 * call (for the call's id) or before it triggers something whose event it
 * needs (Page.loadEventFired after Page.navigate), then offers every message
 * it reads; the table says which waiter, if any, it satisfies. A message no
 * one waits for is the caller's to look at or drop: a late answer to a call
 * that already timed out is exactly that.
 *
 * No I/O; cdp.c is the adapter that reads and writes the pipe. */
#ifndef SQ_CDP_CALLS_H
#define SQ_CDP_CALLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SQ_CDP_MAX_WAITERS 16
#define SQ_CDP_NAME_MAX 96

typedef struct sq_cdp_waiter {
    bool used;
    bool done;
    bool collect;                      /* keeps every matching event (msg is an array), never done */
    int64_t id;                        /* > 0: waits for the response to this call */
    char method[SQ_CDP_NAME_MAX];      /* id == 0: waits for this event… */
    char session[SQ_CDP_NAME_MAX];     /* …on this session ("" = the browser's own) */
    json_t *msg;                       /* the message that satisfied it, once done; collect: all so far */
} sq_cdp_waiter;

typedef struct sq_cdp_waiters {
    sq_cdp_waiter w[SQ_CDP_MAX_WAITERS];
    int64_t last_id;
} sq_cdp_waiters;

void sq_cdp_waiters_init(sq_cdp_waiters *ws);
/* Drop every waiter and the messages they hold. */
void sq_cdp_waiters_clear(sq_cdp_waiters *ws);

/* A fresh call id (1, 2, …). */
int64_t sq_cdp_next_id(sq_cdp_waiters *ws);
/* Register a waiter; returns its slot, or -1 when the table is full. */
int sq_cdp_expect_response(sq_cdp_waiters *ws, int64_t id);
int sq_cdp_expect_event(sq_cdp_waiters *ws, const char *method, const char *session);
/* A waiter that collects every matching event, in order, until taken: for a
 * caller that only learns later which of them it wants (a navigation's
 * lifecycle events, named by the loaderId Page.navigate returns). */
int sq_cdp_collect_events(sq_cdp_waiters *ws, const char *method, const char *session);
/* The events a collecting waiter holds so far (borrowed array), or NULL. */
const json_t *sq_cdp_collected(const sq_cdp_waiters *ws, int slot);
/* Offer one parsed message (borrowed; the satisfied waiter takes a reference).
 * Returns the slot it satisfied, or -1 when no waiter wanted it. A waiter is
 * satisfied once; a second matching event goes to the next waiter or nowhere. */
int sq_cdp_offer(sq_cdp_waiters *ws, json_t *msg);
bool sq_cdp_done(const sq_cdp_waiters *ws, int slot);
/* Take the message of a done waiter (caller owns it) and free the slot;
 * on a waiter not done, frees the slot and returns NULL. */
json_t *sq_cdp_take(sq_cdp_waiters *ws, int slot);

/* The JSON text of a call: {"id", "method", "params", "sessionId"?}. params
 * may be NULL (sent as {}); it is borrowed. Returns malloc'd text or NULL. */
char *sq_cdp_request_text(int64_t id, const char *method, const json_t *params, const char *session);

/* A response's error, if it is one: copies "error.message" (and the code)
 * into buf and returns true. */
bool sq_cdp_response_error(const json_t *msg, char *buf, size_t size);

#endif
