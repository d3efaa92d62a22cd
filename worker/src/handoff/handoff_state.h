/* handoff_state.h — a sandbox's hand-offs and its control mode, as pure logic.
 *
 * A hand-off asks a person to take over the sandbox (its browser) for a while:
 * pending → accepted → completed, or cancelled / expired from pending or
 * accepted. The control mode says who may act: `ai` (the agent; a human may
 * only watch), `human` (the agent waits and may not send input) or `shared`
 * (both). It moves with the hand-off: accept → human (or shared), complete,
 * cancel, expire → ai.
 *
 * At most one hand-off is open (pending or accepted) at a time: a second
 * request while one is open is invalid_state, because the control mode is the
 * sandbox's, not the hand-off's. The book keeps the newest SQ_HANDOFF_KEEP
 * hand-offs (the open one always among them) so that a late accept of a
 * finished one is invalid_state rather than handoff_not_found.
 *
 * Each hand-off is held as the JSON object its events carry (`data`:
 * docs/protocol.md "Hand-offs"); the functions here change it and nothing
 * else — no I/O, no clock (now is given), so tests/unit can drive them. */
#ifndef SQ_HANDOFF_STATE_H
#define SQ_HANDOFF_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sq/err.h"

#define SQ_HANDOFF_KEEP 16
#define SQ_HANDOFF_DEFAULT_EXPIRY_MS (15 * 60 * 1000)

typedef enum sq_handoff_status {
    SQ_HANDOFF_PENDING,
    SQ_HANDOFF_ACCEPTED,
    SQ_HANDOFF_COMPLETED,
    SQ_HANDOFF_CANCELLED,
    SQ_HANDOFF_EXPIRED,
} sq_handoff_status;

typedef enum sq_control_mode { SQ_CONTROL_AI, SQ_CONTROL_HUMAN, SQ_CONTROL_SHARED } sq_control_mode;

typedef struct sq_handoff {
    sq_handoff_status status;
    int64_t expires_at; /* epoch ms */
    json_t *data;       /* the event data, owned */
} sq_handoff;

typedef struct sq_handoff_book {
    sq_handoff items[SQ_HANDOFF_KEEP]; /* oldest first */
    int count;
    int open;                          /* index of the open hand-off, -1 none */
    sq_control_mode mode;
} sq_handoff_book;

void sq_handoff_book_init(sq_handoff_book *b);
void sq_handoff_book_free(sq_handoff_book *b);

const char *sq_handoff_status_name(sq_handoff_status s);  /* "pending" … */
const char *sq_handoff_event_type(sq_handoff_status s);   /* "sandbox.handoff.requested" … */
const char *sq_control_mode_name(sq_control_mode m);      /* "ai" … */
/* "ai"/"human"/"shared" → mode; false for anything else. */
bool sq_control_mode_parse(const char *name, sq_control_mode *out);
/* Whether a person may send input now: a hand-off is accepted and the mode is
 * human or shared. */
bool sq_handoff_human_may_act(const sq_handoff_book *b);
/* Whether the agent may send input now (mode ai or shared). */
bool sq_handoff_agent_may_act(const sq_handoff_book *b);

/* The outcome of each operation: the index of the hand-off it changed (its
 * data is what the event carries), or -1 with why filled (invalid_state,
 * handoff_not_found). */

/* A new hand-off from a handoff.request body (already schema-checked):
 * handoffId, reason, message, resumePrompt?, expiresInMs? (default 15 min).
 * requested_by: agent | worker | sdk | dashboard. */
int sq_handoff_request(sq_handoff_book *b, const json_t *body, const char *requested_by, int64_t now, sq_err *why);
/* controller is who took over; mode human or shared. */
int sq_handoff_accept(sq_handoff_book *b, const char *handoff_id, const char *controller, sq_control_mode mode,
                      int64_t now, sq_err *why);
/* note may be NULL. Only an accepted hand-off completes. */
int sq_handoff_complete(sq_handoff_book *b, const char *handoff_id, const char *note, int64_t now, sq_err *why);
/* A pending or accepted one. */
int sq_handoff_cancel(sq_handoff_book *b, const char *handoff_id, int64_t now, sq_err *why);
/* Expire the open hand-off if its expiry passed at now: its index, or -1
 * when nothing was due. */
int sq_handoff_expire_due(sq_handoff_book *b, int64_t now);
/* The open hand-off's expiry (epoch ms), or -1 when none is open. */
int64_t sq_handoff_next_expiry(const sq_handoff_book *b);
/* Find by id: index or -1. */
int sq_handoff_find(const sq_handoff_book *b, const char *handoff_id);

#endif
