/* wait_many.c — sandq_wait_ready_many: wait on any number of sandboxes with one
 * consumer. One subscription on every partition of the events topic (events.c),
 * from a time; each event is routed to its sandbox through a sorted index
 * (bsearch), and each sandbox is decided as sandq_wait_ready decides one: by the
 * state of its latest lifecycle event (by seq: a replayed old one does not count)
 * once everything published before the call has been read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/codec.h"
#include "ulid_time.h"

#define ID_CLOCK_SLACK_MS (2 * 60 * 1000)

typedef struct {
    const char *id;
    size_t idx;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->id, ((const entry *)b)->id);
}

typedef struct {
    int64_t seq;          /* of the lifecycle event that set state */
    char state[16];
    char type[48];        /* the lifecycle event that set it */
    char message[256];    /* failure/end detail */
} member;

static int phase(const char *state)
{
    if (strcmp(state, "ready") == 0 || strcmp(state, "active") == 0)
        return 1;
    if (strcmp(state, "failed") == 0 || strcmp(state, "ending") == 0 || strcmp(state, "ended") == 0)
        return 2;
    return 0;
}

sandq_code sandq_wait_ready_many(sandq_client_t *c, const char *const *ids, size_t n, int64_t since_ms,
                                 int64_t timeout_ms, sandq_code *codes, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || (n && !ids))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and ids must not be NULL");
    for (size_t i = 0; i < n; i++) {
        if (codes)
            codes[i] = SANDQ_E_WAIT_TIMEOUT;
        if (!ids[i] || !sq_id_valid(ids[i], "sbx"))
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "ids[%zu] \"%s\" is not a sandbox id", i,
                            ids[i] ? ids[i] : "(null)");
    }
    if (n == 0)
        return SANDQ_OK;
    int64_t deadline = sqp_deadline(c, timeout_ms);
    if (since_ms <= 0) {
        int64_t earliest = -1, t;
        for (size_t i = 0; i < n; i++)
            if (sqp_id_time_ms(ids[i], &t) == 0 && (earliest < 0 || t < earliest))
                earliest = t;
        since_ms = earliest > ID_CLOCK_SLACK_MS ? earliest - ID_CLOCK_SLACK_MS : 0;
    }
    entry *index = malloc(n * sizeof *index);
    member *m = calloc(n, sizeof *m);
    if (!index || !m) {
        free(index);
        free(m);
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        index[i] = (entry){ids[i], i};
    qsort(index, n, sizeof *index, cmp_entry);

    sandq_sub_t *sub;
    sandq_code rc = sandq_events_open_since(c, NULL, since_ms, &sub, err);
    if (rc) {
        free(index);
        free(m);
        return rc;
    }
    size_t undecided = n;
    while (undecided > 0) {
        int64_t left = sqp_remaining(deadline);
        if (left <= 0)
            break;
        sandq_event ev;
        sandq_error e;
        sandq_code got = sandq_events_next(sub, left < SQP_POLL_SLICE_MS ? left : SQP_POLL_SLICE_MS, &ev, &e);
        if (got == SANDQ_OK && ev.state[0] && !ev.task_id[0] && strncmp(ev.type, "sandbox.", 8) == 0) {
            entry key = {ev.sandbox_id, 0};
            entry *hit = bsearch(&key, index, n, sizeof *index, cmp_entry);
            if (hit && ev.seq > m[hit->idx].seq) {
                member *mm = &m[hit->idx];
                mm->seq = ev.seq;
                snprintf(mm->state, sizeof mm->state, "%s", ev.state);
                snprintf(mm->type, sizeof mm->type, "%s", ev.type);
                json_t *data = json_loads(ev.data_json, 0, NULL);
                const json_t *reason = json_object_get(data, "reason"), *msg = json_object_get(data, "message");
                snprintf(mm->message, sizeof mm->message, "%s%s%s",
                         json_is_string(reason) ? json_string_value(reason) : "",
                         json_is_string(msg) ? ": " : "", json_is_string(msg) ? json_string_value(msg) : "");
                json_decref(data);
            }
        } else if (got != SANDQ_OK && got != SANDQ_E_WAIT_TIMEOUT) {
            rc = got;
            if (err)
                *err = e;
            break;
        }
        /* decide only once the history is read: an old ready must not hide an end */
        if (!sandq_events_caught_up(sub))
            continue;
        undecided = 0;
        for (size_t i = 0; i < n; i++) {
            int ph = m[i].state[0] ? phase(m[i].state) : 0;
            sandq_code code = ph == 1 ? SANDQ_OK
                              : ph == 2 ? (strcmp(m[i].state, "failed") == 0 ? SANDQ_E_SANDBOX_FAILED
                                                                             : SANDQ_E_SANDBOX_ENDED)
                                        : SANDQ_E_WAIT_TIMEOUT;
            if (codes)
                codes[i] = code;
            if (code == SANDQ_E_WAIT_TIMEOUT)
                undecided++;
        }
    }
    sandq_events_close(sub);
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            int ph = m[i].state[0] ? phase(m[i].state) : 0;
            sandq_code code = ph == 1 ? SANDQ_OK
                              : ph == 2 ? (strcmp(m[i].state, "failed") == 0 ? SANDQ_E_SANDBOX_FAILED
                                                                             : SANDQ_E_SANDBOX_ENDED)
                                        : SANDQ_E_WAIT_TIMEOUT;
            if (codes)
                codes[i] = code;
            if (code != SANDQ_OK && !rc) {
                if (code == SANDQ_E_WAIT_TIMEOUT)
                    rc = sqp_fail(err, code, "sandbox %s not ready before the deadline (state: %s; %zu of %zu undecided)",
                                  ids[i], m[i].state[0] ? m[i].state : "unknown", undecided, n);
                else
                    rc = sqp_fail(err, code, "sandbox %s %s%s%s", ids[i], m[i].state, m[i].message[0] ? ": " : "",
                                  m[i].message);
            }
        }
    }
    free(index);
    free(m);
    return rc;
}
