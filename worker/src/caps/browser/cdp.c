/* cdp.c — see cdp.h. The only I/O of the CDP client. */
#include "caps/browser/cdp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sq/clock.h"

#define READ_CHUNK (256 * 1024)

void sq_cdp_init(sq_cdp *c, int to_fd, int from_fd)
{
    sq_cdp_tap *tap = c->tap; /* the preview outlives a browser restart */
    memset(c, 0, sizeof *c);
    c->tap = tap;
    c->to_fd = to_fd;
    c->from_fd = from_fd;
    sq_cdp_frame_init(&c->in, 0);
    sq_cdp_waiters_init(&c->ws);
    int fl;
    if ((fl = fcntl(to_fd, F_GETFL)) >= 0)
        fcntl(to_fd, F_SETFL, fl | O_NONBLOCK);
    if ((fl = fcntl(from_fd, F_GETFL)) >= 0)
        fcntl(from_fd, F_SETFL, fl | O_NONBLOCK);
}

void sq_cdp_close(sq_cdp *c)
{
    if (c->to_fd >= 0)
        close(c->to_fd);
    if (c->from_fd >= 0)
        close(c->from_fd);
    c->to_fd = c->from_fd = -1;
    sq_cdp_frame_free(&c->in);
    sq_cdp_waiters_clear(&c->ws);
}

static void mark_gone(sq_cdp *c, const char *why)
{
    if (!c->gone)
        snprintf(c->gone_why, sizeof c->gone_why, "%s", why);
    c->gone = true;
}

/* One message from the browser: give it to its waiter, and note the events
 * that mean a page (or the browser) can no longer answer. */
static void dispatch(sq_cdp *c, const char *text, size_t len)
{
    json_error_t je;
    json_t *msg = json_loadb(text, len, 0, &je);
    if (!msg) {
        mark_gone(c, "the browser sent a message that is not JSON");
        return;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method && (strcmp(method, "Inspector.targetCrashed") == 0 || strcmp(method, "Target.targetCrashed") == 0 ||
                   strcmp(method, "Target.detachedFromTarget") == 0)) {
        const char *s = json_string_value(json_object_get(msg, "sessionId"));
        if (!s)
            s = json_string_value(json_object_get(json_object_get(msg, "params"), "sessionId"));
        if (!s)
            s = "?";
        /* A crash is usually followed by the page's detach: keep it a crash. */
        bool crash = strcmp(method, "Target.detachedFromTarget") != 0;
        if (strcmp(c->crashed_session, s) == 0)
            c->lost_by_crash = c->lost_by_crash || crash;
        else
            c->lost_by_crash = crash;
        snprintf(c->crashed_session, sizeof c->crashed_session, "%s", s);
    }
    if (method && c->tap && c->tap->on_event && !json_object_get(msg, "id"))
        c->tap->on_event(c->tap->user, method, msg);
    sq_cdp_offer(&c->ws, msg);
    json_decref(msg);
}

/* Read what is there (the fd is non-blocking) and dispatch whole messages. */
static void pump_read(sq_cdp *c)
{
    for (int rounds = 0; rounds < 64 && !c->gone; rounds++) {
        if (sq_cdp_frame_reserve(&c->in, READ_CHUNK) < 0) {
            mark_gone(c, "the browser sent a message over the size bound");
            return;
        }
        ssize_t n = read(c->from_fd, sq_cdp_frame_tail(&c->in), READ_CHUNK);
        if (n == 0) {
            mark_gone(c, "the browser closed its debugging pipe (it exited)");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                mark_gone(c, "reading the debugging pipe failed");
            return;
        }
        sq_cdp_frame_commit(&c->in, (size_t)n);
        size_t len;
        char *m;
        while ((m = sq_cdp_frame_next(&c->in, &len))) {
            dispatch(c, m, len);
            free(m);
        }
    }
}

static int gone_err(sq_cdp *c, sq_err *err)
{
    return sq_err_set(err, SQ_INTERNAL, "%s", c->gone_why);
}

static bool stopped(const sq_cdp *c)
{
    return c->ctl && c->ctl->stopped;
}

static int stopped_err(sq_err *err)
{
    return sq_err_set(err, SQ_CANCELED, "the task was stopped by the sandbox's control lane");
}

void sq_cdp_set_control(sq_cdp *c, sq_cdp_control *ctl)
{
    c->ctl = ctl;
    if (ctl)
        ctl->ask = true; /* a kill or cancel may already be waiting */
}

int64_t sq_cdp_clock(const sq_cdp *c)
{
    return sq_mono_ms() - (c->ctl ? c->ctl->held_ms : 0);
}

/* Ask the control lane (the eventfd fired, control_at passed, or first
 * wait). The eventfd is drained first: its flags (kill_pending,
 * cancel_running) are set before it is written, so nothing is lost. */
static void ask_control(sq_cdp *c)
{
    sq_cdp_control *ctl = c->ctl;
    uint64_t v;
    while (ctl->wake_fd >= 0 && read(ctl->wake_fd, &v, sizeof v) > 0) {
    }
    ctl->ask = false;
    int64_t t0 = sq_mono_ms();
    int64_t at = ctl->control_at;
    if (ctl->fn(ctl->user, &at))
        ctl->stopped = true;
    ctl->control_at = at;
    ctl->held_ms += sq_mono_ms() - t0;
}

/* Let the preview's tap send what it has (never re-entered: its own writes
 * wait through wait_io too). */
static void tap_flush(sq_cdp *c)
{
    if (!c->tap || !c->tap->flush || c->in_tap || c->gone)
        return;
    uint64_t v;
    while (c->tap->fd >= 0 && read(c->tap->fd, &v, sizeof v) > 0) {
    }
    c->in_tap = true;
    c->tap->flush(c->tap->user, c);
    c->in_tap = false;
}

/* Wait (until deadline, on sq_cdp_clock) for the pipe to be readable or,
 * when want_write, the call pipe writable, watching the control lane too.
 * Returns 1 when writable, 0 after reading (or nothing), -1 on deadline (err
 * set), a gone browser or a stop from the control lane. */
static int wait_io(sq_cdp *c, bool want_write, int64_t deadline, const char *what, sq_err *err)
{
    sq_cdp_control *ctl = c->ctl;
    if (ctl && !ctl->stopped && (ctl->ask || (ctl->control_at > 0 && sq_mono_ms() >= ctl->control_at)))
        ask_control(c);
    if (stopped(c))
        return stopped_err(err);
    int64_t now = sq_cdp_clock(c);
    if (now >= deadline)
        return sq_err_set(err, SQ_TIMED_OUT, "the browser did not answer %s in time", what);
    struct pollfd p[4] = {{.fd = c->from_fd, .events = POLLIN},
                          {.fd = want_write ? c->to_fd : -1, .events = POLLOUT},
                          {.fd = ctl ? ctl->wake_fd : -1, .events = POLLIN},
                          {.fd = c->tap && !c->in_tap ? c->tap->fd : -1, .events = POLLIN}};
    int64_t left = deadline - now;
    if (ctl && ctl->control_at > 0) {
        int64_t until_control = ctl->control_at - sq_mono_ms();
        if (until_control < left)
            left = until_control < 0 ? 0 : until_control;
    }
    int n = poll(p, 4, left > 60000 ? 60000 : (int)left);
    if (n < 0 && errno != EINTR)
        return sq_err_errno(err, "poll on the debugging pipe");
    if (n <= 0)
        return 0;
    if (p[0].revents)
        pump_read(c); /* POLLHUP too: read then sees EOF */
    if (c->gone)
        return gone_err(c, err);
    if (p[0].revents || p[3].revents)
        tap_flush(c);
    if (p[2].revents) {
        ask_control(c);
        if (stopped(c))
            return stopped_err(err);
    }
    return want_write && (p[1].revents & POLLOUT) ? 1 : 0;
}

static int write_all(sq_cdp *c, const char *buf, size_t len, int64_t deadline, const char *what, sq_err *err)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(c->to_fd, buf + off, len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EPIPE) {
            mark_gone(c, "the browser closed its debugging pipe (it exited)");
            return gone_err(c, err);
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return sq_err_errno(err, "writing the debugging pipe");
        if (wait_io(c, true, deadline, what, err) < 0)
            return -1;
    }
    return 0;
}

int sq_cdp_expect(sq_cdp *c, const char *event, const char *session, sq_err *err)
{
    int s = sq_cdp_expect_event(&c->ws, event, session);
    if (s < 0)
        return sq_err_set(err, SQ_INTERNAL, "too many browser calls in flight");
    return s;
}

int sq_cdp_collect(sq_cdp *c, const char *event, const char *session, sq_err *err)
{
    int s = sq_cdp_collect_events(&c->ws, event, session);
    if (s < 0)
        return sq_err_set(err, SQ_INTERNAL, "too many browser calls in flight");
    return s;
}

int sq_cdp_sleep(sq_cdp *c, int64_t until, sq_err *err)
{
    while (!c->gone) {
        if (wait_io(c, false, until, "", err) < 0)
            return err->code == SQ_TIMED_OUT ? 0 : -1;
    }
    return gone_err(c, err);
}

int sq_cdp_pump(sq_cdp *c, int64_t deadline, const char *what, sq_err *err)
{
    if (c->gone)
        return gone_err(c, err);
    return wait_io(c, false, deadline, what, err) < 0 ? -1 : 0;
}

void sq_cdp_forget(sq_cdp *c, int slot)
{
    json_decref(sq_cdp_take(&c->ws, slot));
}

/* Whether the page of this session went away (closed or crashed): a call on
 * it will never be answered. */
static bool session_lost(const sq_cdp *c, const char *session)
{
    return session && session[0] && strcmp(c->crashed_session, session) == 0;
}

bool sq_cdp_page_closed(const sq_cdp *c, const char *session)
{
    return session_lost(c, session) && !c->lost_by_crash && !c->gone;
}

static int await_slot(sq_cdp *c, int slot, const char *session, int64_t deadline, json_t **msg, sq_err *err)
{
    const char *what = c->ws.w[slot].id ? "a call" : c->ws.w[slot].method;
    char label[SQ_CDP_NAME_MAX + 8];
    snprintf(label, sizeof label, "(%s)", what);
    while (!sq_cdp_done(&c->ws, slot)) {
        if (session_lost(c, session)) {
            sq_cdp_forget(c, slot);
            return sq_err_set(err, SQ_INTERNAL, "the page went away (it was closed or crashed)");
        }
        if (c->gone || wait_io(c, false, deadline, label, err) < 0) {
            sq_cdp_forget(c, slot);
            return c->gone ? gone_err(c, err) : stopped(c) ? stopped_err(err) : -1;
        }
    }
    json_t *m = sq_cdp_take(&c->ws, slot);
    if (msg)
        *msg = m;
    else
        json_decref(m);
    return 0;
}

int sq_cdp_await(sq_cdp *c, int slot, int64_t deadline, json_t **msg, sq_err *err)
{
    return await_slot(c, slot, NULL, deadline, msg, err);
}

int sq_cdp_call(sq_cdp *c, const char *method, const json_t *params, const char *session, int64_t deadline,
                json_t **result, sq_err *err)
{
    if (result)
        *result = NULL;
    if (c->gone)
        return gone_err(c, err);
    if (stopped(c))
        return stopped_err(err);
    if (session_lost(c, session))
        return sq_err_set(err, SQ_INTERNAL, "the page went away (it was closed or crashed)");
    int64_t id = sq_cdp_next_id(&c->ws);
    int slot = sq_cdp_expect_response(&c->ws, id);
    if (slot < 0)
        return sq_err_set(err, SQ_INTERNAL, "too many browser calls in flight");
    char *text = sq_cdp_request_text(id, method, params, session);
    size_t len = 0;
    char *frame = text ? sq_cdp_frame_encode(text, &len) : NULL;
    free(text);
    if (!frame) {
        sq_cdp_forget(c, slot);
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    }
    int rc = write_all(c, frame, len, deadline, method, err);
    free(frame);
    if (rc < 0) {
        sq_cdp_forget(c, slot);
        return -1;
    }
    json_t *msg = NULL;
    if (await_slot(c, slot, session, deadline, &msg, err) < 0) {
        if (err->code == SQ_TIMED_OUT)
            sq_err_set(err, SQ_TIMED_OUT, "the browser did not answer %s in time", method);
        return -1;
    }
    char why[400];
    if (sq_cdp_response_error(msg, why, sizeof why)) {
        json_decref(msg);
        return sq_err_set(err, SQ_INVALID_REQUEST, "%s: %s", method, why);
    }
    if (result) {
        *result = json_incref(json_object_get(msg, "result"));
        if (!*result)
            *result = json_object();
    }
    json_decref(msg);
    return 0;
}

int sq_cdp_send(sq_cdp *c, const char *method, const json_t *params, const char *session, int64_t deadline,
                sq_err *err)
{
    if (c->gone)
        return gone_err(c, err);
    char *text = sq_cdp_request_text(sq_cdp_next_id(&c->ws), method, params, session);
    size_t len = 0;
    char *frame = text ? sq_cdp_frame_encode(text, &len) : NULL;
    free(text);
    if (!frame)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    int rc = write_all(c, frame, len, deadline, method, err);
    free(frame);
    return rc;
}

void sq_cdp_drain(sq_cdp *c)
{
    struct pollfd p = {.fd = c->from_fd, .events = POLLIN};
    while (!c->gone && poll(&p, 1, 0) > 0 && p.revents)
        pump_read(c);
}

bool sq_cdp_wait_closed(sq_cdp *c, int64_t deadline)
{
    sq_err ignore;
    while (!c->gone && wait_io(c, false, deadline, "its exit", &ignore) >= 0)
        ;
    return c->gone;
}
