/* wait.c — reading the events of one sandbox.
 *
 * All events of a sandbox are keyed by its id, so they sit in one partition of
 * `<prefix>.events`: murmur2(id) mod partitions, the Java client's mapping, which
 * the workers' producers (partitioner murmur2_random) use too. A waiter assigns a
 * consumer to just that partition — no consumer group, no rebalancing, no commits —
 * so waiting costs one partition's traffic, not the whole topic's.
 *
 * The start offset is always concrete. "From the end" is the high watermark queried
 * before the request is produced: OFFSET_END would resolve lazily, after the first
 * fetch, and could skip an answer that arrived in between. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/log.h"
#include "sq/murmur2.h"

static int tmo_ms(int64_t deadline, int64_t cap)
{
    int64_t left = sqp_remaining(deadline);
    if (left > cap)
        left = cap;
    return (int)(left < 1 ? 1 : left);
}

static sandq_code resolve_start(sqp_waiter *w, int64_t start, int64_t lo, int64_t hi, int64_t deadline,
                                int64_t *out, sandq_error *err)
{
    if (start == SQP_START_END) {
        *out = hi;
        return SANDQ_OK;
    }
    if (start >= 0) {
        *out = start < lo ? lo : start; /* older events may have been deleted by retention */
        return SANDQ_OK;
    }
    int64_t at_ms = -2 - start;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, w->c->events_topic, w->partition)->offset = at_ms;
    rd_kafka_resp_err_t kerr = rd_kafka_offsets_for_times(w->rk, l, tmo_ms(deadline, 10000));
    int64_t off = l->elems[0].offset;
    rd_kafka_resp_err_t perr = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr || perr)
        return sqp_fail(err, SANDQ_E_KAFKA, "cannot look up offsets by time in %s [%d]: %s", w->c->events_topic,
                        (int)w->partition, rd_kafka_err2str(kerr ? kerr : perr));
    *out = off < 0 ? hi : off; /* -1: no event at or after that time */
    return SANDQ_OK;
}

sandq_code sqp_waiter_open(sandq_client_t *c, const char *sandbox_id, int64_t start, int64_t deadline,
                           sqp_waiter *w, sandq_error *err)
{
    memset(w, 0, sizeof *w);
    w->c = c;
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id (sbx_ + 26-character ULID)",
                        sandbox_id ? sandbox_id : "(null)");
    snprintf(w->sandbox_id, sizeof w->sandbox_id, "%s", sandbox_id);
    w->rk = sqp_consumer_get(c, err);
    if (!w->rk)
        return err ? err->code : SANDQ_E_KAFKA;
    int32_t nparts;
    sandq_code rc = sqp_events_partitions(c, w->rk, deadline, &nparts, err);
    if (rc)
        goto fail;
    w->partition = sq_partition_for_key(sandbox_id, strlen(sandbox_id), nparts);

    int64_t lo = 0, hi = 0;
    if ((rc = sqp_events_offsets(c, w->rk, w->partition, deadline, &lo, &hi, err)))
        goto fail;
    w->end_at_open = hi;
    if ((rc = resolve_start(w, start, lo, hi, deadline, &w->start, err)))
        goto fail;
    w->position = w->start;

    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->events_topic, w->partition)->offset = w->start;
    rd_kafka_resp_err_t kerr = rd_kafka_assign(w->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        rc = sqp_fail(err, SANDQ_E_KAFKA, "cannot assign %s [%d]: %s", c->events_topic, (int)w->partition,
                      rd_kafka_err2str(kerr));
        goto fail;
    }
    sq_debug(&(sq_log_ctx){.sandbox_id = sandbox_id}, "waiting on %s [%d] from offset %lld (end %lld)",
             c->events_topic, (int)w->partition, (long long)w->start, (long long)hi);
    return SANDQ_OK;
fail:
    sqp_consumer_put(c, w->rk);
    w->rk = NULL;
    return rc;
}

static bool key_is(const rd_kafka_message_t *m, const char *id)
{
    size_t n = strlen(id);
    return m->key_len == n && memcmp(m->key, id, n) == 0;
}

sandq_code sqp_waiter_next(sqp_waiter *w, int64_t deadline, sq_event *ev, bool *got, sandq_error *err)
{
    *got = false;
    if (sqp_remaining(deadline) <= 0)
        return SANDQ_E_WAIT_TIMEOUT;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(w->rk, tmo_ms(deadline, SQP_POLL_SLICE_MS));
    if (!m)
        return sqp_remaining(deadline) <= 0 ? SANDQ_E_WAIT_TIMEOUT : SANDQ_OK;
    sandq_code rc = SANDQ_OK;
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition == w->partition)
                w->eof = true;
        } else if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                   m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            rc = sqp_fail(err, SANDQ_E_KAFKA, "reading %s: %s", w->c->events_topic, rd_kafka_message_errstr(m));
        } else {
            /* transient (broker down, leader change): librdkafka retries; remember it
             * in case the wait times out */
            sqp_note_kafka_error(w->c, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        return rc;
    }
    if (m->partition != w->partition || m->offset < w->position) {
        rd_kafka_message_destroy(m); /* left over from an earlier assignment */
        return SANDQ_OK;
    }
    w->position = m->offset + 1;
    w->eof = false;
    if (m->key && !key_is(m, w->sandbox_id)) {
        rd_kafka_message_destroy(m); /* another sandbox sharing the partition */
        return SANDQ_OK;
    }
    sq_err perr;
    if (sq_event_parse(m->payload, m->len, ev, &perr) < 0) {
        sq_debug(NULL, "skipping malformed event at %s [%d] offset %lld: %s", w->c->events_topic,
                 (int)m->partition, (long long)m->offset, perr.msg);
        sq_event_free(ev);
    } else if (strcmp(ev->sandbox_id, w->sandbox_id) != 0) {
        sq_event_free(ev);
    } else {
        *got = true;
    }
    rd_kafka_message_destroy(m);
    return SANDQ_OK;
}

bool sqp_waiter_caught_up(const sqp_waiter *w) { return w->position >= w->end_at_open || w->eof; }

void sqp_waiter_close(sqp_waiter *w)
{
    if (w->rk)
        sqp_consumer_put(w->c, w->rk);
    w->rk = NULL;
}

/* The loop every waiting call shares (see internal.h, sqp_follow): read the next
 * event or poll slice, hand it to the call's decision, and on the deadline either
 * succeed (a call whose success is silence) or fail with what was awaited. */
sandq_code sqp_send_follow(sandq_client_t *c, const char *sandbox_id, const char *type, const char *task_id,
                           json_t *body, sqp_follow *f, char request_id[SQ_ID_MAX], sandq_error *err)
{
    /* Opened before the request is produced: the answer comes after it (see the
     * top of this file on why the start is a concrete offset). */
    sqp_waiter w;
    sandq_code rc = sqp_waiter_open(c, sandbox_id, SQP_START_END, f->deadline, &w, err);
    if (rc) {
        json_decref(body);
        return rc;
    }
    rc = sqp_send(c, sandbox_id, type, task_id, body, NULL, f->deadline, request_id, err);
    if (rc == SANDQ_OK)
        rc = sqp_follow_events(c, &w, f, err);
    sqp_waiter_close(&w);
    return rc;
}

sandq_code sqp_follow_events(sandq_client_t *c, sqp_waiter *w, sqp_follow *f, sandq_error *err)
{
    for (;;) {
        sq_event ev;
        bool got;
        sandq_code rc = sqp_waiter_next(w, f->deadline, &ev, &got, err);
        if (rc == SANDQ_E_WAIT_TIMEOUT) {
            if (f->quiet_ok) {
                sqp_err_clear(err);
                return SANDQ_OK;
            }
            char what[192];
            f->describe(f, what, sizeof what);
            rc = sqp_fail_timeout(c, err, sq_mono_ms() - f->started, what);
            if (err && f->request_id && f->request_id[0])
                snprintf(err->request_id, sizeof err->request_id, "%s", f->request_id);
            if (err && f->task_id && f->task_id[0])
                snprintf(err->task_id, sizeof err->task_id, "%s", f->task_id);
            return rc;
        }
        if (rc)
            return rc;
        sandq_code out = SANDQ_OK;
        bool decided = f->on_event(f, got ? &ev : NULL, &out, err);
        if (got)
            sq_event_free(&ev);
        if (decided)
            return out;
    }
}
