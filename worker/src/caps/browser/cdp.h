/* cdp.h — a Chrome DevTools Protocol client over --remote-debugging-pipe.
 *
 * The browser reads calls from one fd and writes answers and events to
 * another (its fds 3 and 4). This client owns our ends of both, non-blocking,
 * and is used by one thread at a time (the sandbox's actor). Every wait has a
 * deadline on the monotonic clock: a browser that hangs, floods or dies costs
 * the caller at most that deadline, never a blocked thread. While waiting to
 * write, it keeps reading, so neither side can fill the other's pipe and
 * stall both.
 *
 * The framing is cdp_frame.h and the bookkeeping of who waits for what is
 * cdp_calls.h; this file is only the I/O. */
#ifndef SQ_CDP_H
#define SQ_CDP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "caps/browser/cdp_calls.h"
#include "caps/browser/cdp_frame.h"
#include "sq/err.h"

/* The sandbox's control lane (lifecycle/control.h), watched by every wait
 * while a task uses the client: a kill or task.cancel, a sandbox taken over
 * by another worker, or its lifetime running out with onTimeout "pause"
 * must not wait for a browser call to end. While a wait polls the pipe it
 * also polls wake_fd (the sandbox's eventfd), and asks fn when it fires or
 * when control_at passes. fn may hold the caller for a while (it freezes
 * the sandbox under the task until a resume); that time is held_ms and does
 * not count against the task's deadlines (sq_cdp_clock), as for a command. */
typedef struct sq_cdp_control {
    int wake_fd;                                 /* -1: none */
    bool (*fn)(void *user, int64_t *control_at); /* true: stop the task now */
    void *user;
    int64_t control_at;                          /* sq_mono_ms at which to ask fn anyway; 0 = never */
    int64_t held_ms;                             /* time spent inside fn */
    bool ask;                                    /* ask fn at the next wait (set at install) */
    bool stopped;                                /* fn said stop: every call fails SQ_CANCELED */
} sq_cdp_control;

/* The live preview's tap (preview/preview_pump.h; issue 14). The pipe is
 * used by one thread at a time — the actor during a browser task, the
 * preview's pump thread between tasks, whichever holds the preview's use
 * lock — and the tap rides on whichever it is: every event read is shown to
 * on_event (screencast frames), and after each read, and whenever fd (an
 * eventfd: a viewer came or went, input was queued) fires, flush may send
 * calls without waiting for their answers (sq_cdp_send: acks, input,
 * start/stop of the screencast). flush is never re-entered. */
struct sq_cdp;
typedef struct sq_cdp_tap {
    int fd;                                                   /* -1: none */
    void (*on_event)(void *user, const char *method, const json_t *msg);
    void (*flush)(void *user, struct sq_cdp *c);
    void *user;
} sq_cdp_tap;

typedef struct sq_cdp {
    int to_fd;                 /* the browser reads calls from it */
    int from_fd;               /* the browser writes answers and events to it */
    sq_cdp_frame in;
    sq_cdp_waiters ws;
    bool gone;                 /* the browser closed its end, crashed, or sent garbage */
    char gone_why[160];
    char crashed_session[SQ_CDP_NAME_MAX]; /* a page whose renderer crashed or that went away ("" = none) */
    bool lost_by_crash;        /* crashed_session crashed (not only detached, as a page that closed itself) */
    sq_cdp_control *ctl;       /* borrowed; NULL: no control lane (creating the sandbox) */
    sq_cdp_tap *tap;           /* borrowed; NULL: no preview (kept across sq_cdp_init) */
    bool in_tap;               /* inside tap->flush */
} sq_cdp;

/* Whether the page of session was closed (it detached without a crash),
 * as a page that calls window.close() is. */
bool sq_cdp_page_closed(const sq_cdp *c, const char *session);

/* Take ownership of the two fds (made non-blocking here). */
void sq_cdp_init(sq_cdp *c, int to_fd, int from_fd);
/* Watch ctl (borrowed, may be NULL to stop watching) from now on. */
void sq_cdp_set_control(sq_cdp *c, sq_cdp_control *ctl);
/* The clock every deadline given to this client is on: sq_mono_ms() less the
 * time the control lane held the sandbox frozen. */
int64_t sq_cdp_clock(const sq_cdp *c);
/* Wait until `until` (sq_cdp_clock) while reading the pipe and watching the
 * control lane: a pause that a kill or cancel can cut short. Returns -1 only
 * when the browser is gone or the control lane stopped the task. */
int sq_cdp_sleep(sq_cdp *c, int64_t until, sq_err *err);

/* Close the fds and drop any state. Safe twice. */
void sq_cdp_close(sq_cdp *c);

/* Send a call and wait for its answer until deadline (sq_mono_ms). params is
 * borrowed (NULL = {}); session is the flattened sessionId ("" or NULL for the
 * browser). On success *result is the "result" object (caller owns it; may be
 * NULL when the caller does not want it). Errors: SQ_TIMED_OUT when the
 * deadline passed, SQ_INTERNAL when the browser is gone, SQ_CANCELED when the
 * control lane stopped the task (ctl->stopped), SQ_INVALID_REQUEST with the
 * browser's error message when it answered with an error. */
int sq_cdp_call(sq_cdp *c, const char *method, const json_t *params, const char *session, int64_t deadline,
                json_t **result, sq_err *err);

/* Send a call without waiting for its answer (dropped when it comes): the
 * preview's acks and input. Writes until deadline at most. */
int sq_cdp_send(sq_cdp *c, const char *method, const json_t *params, const char *session, int64_t deadline,
                sq_err *err);

/* Two-step form, for a call whose event must not be missed: arm a waiter for
 * the event first (sq_cdp_expect), then call, then sq_cdp_await the event. */
int sq_cdp_expect(sq_cdp *c, const char *event, const char *session, sq_err *err);
/* Wait for an armed waiter; *msg (may be NULL) gets the whole message. The
 * slot is released whatever happens. */
int sq_cdp_await(sq_cdp *c, int slot, int64_t deadline, json_t **msg, sq_err *err);
/* Arm a waiter that collects every such event (cdp_calls.h); read them with
 * sq_cdp_collected(&c->ws, slot), wait for more with sq_cdp_pump, release
 * with sq_cdp_forget. */
int sq_cdp_collect(sq_cdp *c, const char *event, const char *session, sq_err *err);
/* Wait until something arrives from the browser (or deadline) and dispatch
 * it. Returns 0, or -1 on the deadline (SQ_TIMED_OUT, naming `what`) or a
 * browser that is gone. */
int sq_cdp_pump(sq_cdp *c, int64_t deadline, const char *what, sq_err *err);
/* Release an armed waiter that is no longer wanted. */
void sq_cdp_forget(sq_cdp *c, int slot);

/* Read and drop whatever the browser has written and no one waits for
 * (events between tasks), without blocking. */
void sq_cdp_drain(sq_cdp *c);

/* Wait until the browser closes its end of the pipe (it exited), reading and
 * dropping what it still sends. Returns whether it did before deadline. */
bool sq_cdp_wait_closed(sq_cdp *c, int64_t deadline);

#endif
