/* events.c — event subscriptions: read `<prefix>.events` (one sandbox's partition, or
 * all partitions) without a consumer group, from concrete start offsets, and hand
 * each event out raw and parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "sq/murmur2.h"

struct sandq_sub {
    sandq_client_t *c;
    rd_kafka_t *rk;
    char sandbox_id[SQ_ID_MAX];  /* "" = every sandbox */
    int32_t first, count;        /* partitions [first, first+count) */
    int64_t *end_at_open;
    int64_t *position;
    bool *eof;
    /* the current event, owned until the next call */
    char *json;
    char *data_json;
    sq_event ev;
};

static void clear_current(sandq_sub_t *s)
{
    free(s->json);
    free(s->data_json);
    s->json = s->data_json = NULL;
    sq_event_free(&s->ev);
}

void sandq_events_close(sandq_sub_t *s)
{
    if (!s)
        return;
    clear_current(s);
    if (s->rk)
        sqp_consumer_put(s->c, s->rk);
    free(s->end_at_open);
    free(s->position);
    free(s->eof);
    free(s);
}

/* since_ms: -1 → from the end, -2 → from the beginning, ≥ 0 → from that time. */
static sandq_code open_sub(sandq_client_t *c, const char *sandbox_id, int64_t since_ms, sandq_sub_t **out,
                           sandq_error *err)
{
    int from_beginning = since_ms == -2;
    sqp_err_clear(err);
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    *out = NULL;
    if (sandbox_id && *sandbox_id && !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id);
    sandq_sub_t *s = calloc(1, sizeof *s);
    if (!s)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    s->c = c;
    int64_t deadline = sqp_deadline(c, 0);
    sandq_code rc;
    s->rk = sqp_consumer_get(c, err);
    if (!s->rk) {
        rc = err ? err->code : SANDQ_E_KAFKA;
        goto fail;
    }
    int32_t nparts;
    if ((rc = sqp_events_partitions(c, s->rk, deadline, &nparts, err)))
        goto fail;
    if (sandbox_id && *sandbox_id) {
        snprintf(s->sandbox_id, sizeof s->sandbox_id, "%s", sandbox_id);
        s->first = sq_partition_for_key(sandbox_id, strlen(sandbox_id), nparts);
        s->count = 1;
    } else {
        s->first = 0;
        s->count = nparts;
    }
    s->end_at_open = calloc((size_t)s->count, sizeof *s->end_at_open);
    s->position = calloc((size_t)s->count, sizeof *s->position);
    s->eof = calloc((size_t)s->count, sizeof *s->eof);
    if (!s->end_at_open || !s->position || !s->eof) {
        rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto fail;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->count);
    for (int32_t i = 0; i < s->count; i++) {
        int64_t lo, hi;
        if ((rc = sqp_events_offsets(c, s->rk, s->first + i, deadline, &lo, &hi, err))) {
            rd_kafka_topic_partition_list_destroy(l);
            goto fail;
        }
        /* concrete offsets, so nothing published after this call returns is missed */
        s->end_at_open[i] = hi;
        s->position[i] = from_beginning ? lo : hi;
        rd_kafka_topic_partition_list_add(l, c->events_topic, s->first + i)->offset = s->position[i];
    }
    if (since_ms >= 0) {
        /* Kafka's time index: the first offset whose timestamp is ≥ since_ms, or -1
         * (→ the end) when there is none. */
        rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_copy(l);
        for (int i = 0; i < t->cnt; i++)
            t->elems[i].offset = since_ms;
        int64_t left = sqp_remaining(deadline);
        rd_kafka_resp_err_t terr = rd_kafka_offsets_for_times(s->rk, t, (int)(left < 1 ? 1 : left > 10000 ? 10000 : left));
        if (terr) {
            rd_kafka_topic_partition_list_destroy(t);
            rd_kafka_topic_partition_list_destroy(l);
            rc = sqp_fail(err, SANDQ_E_KAFKA, "cannot look up offsets by time in %s: %s", c->events_topic,
                          rd_kafka_err2str(terr));
            goto fail;
        }
        for (int i = 0; i < t->cnt; i++) {
            int64_t off = t->elems[i].offset;
            if (off >= 0 && off < s->end_at_open[i]) {
                s->position[i] = off;
                l->elems[i].offset = off;
            }
        }
        rd_kafka_topic_partition_list_destroy(t);
    }
    rd_kafka_resp_err_t kerr = rd_kafka_assign(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        rc = sqp_fail(err, SANDQ_E_KAFKA, "cannot assign %s: %s", c->events_topic, rd_kafka_err2str(kerr));
        goto fail;
    }
    *out = s;
    return SANDQ_OK;
fail:
    sandq_events_close(s);
    return rc;
}

sandq_code sandq_events_open(sandq_client_t *c, const char *sandbox_id, int from_beginning, sandq_sub_t **out,
                             sandq_error *err)
{
    return open_sub(c, sandbox_id, from_beginning ? -2 : -1, out, err);
}

sandq_code sandq_events_open_since(sandq_client_t *c, const char *sandbox_id, int64_t since_ms, sandq_sub_t **out,
                                   sandq_error *err)
{
    return open_sub(c, sandbox_id, since_ms < 0 ? 0 : since_ms, out, err);
}

int sandq_events_caught_up(const sandq_sub_t *s)
{
    if (!s)
        return 0;
    for (int32_t i = 0; i < s->count; i++)
        if (!s->eof[i] && s->position[i] < s->end_at_open[i])
            return 0;
    return 1;
}


/* Take message m as the current event if it passes the filter. */
static bool take_event(sandq_sub_t *s, const rd_kafka_message_t *m, sandq_event *ev)
{
    if (s->sandbox_id[0] && m->key &&
        (m->key_len != strlen(s->sandbox_id) || memcmp(m->key, s->sandbox_id, m->key_len) != 0))
        return false;
    sq_err perr;
    if (sq_event_parse(m->payload, m->len, &s->ev, &perr) < 0) {
        sq_debug(NULL, "skipping malformed event at %s [%d] offset %lld: %s", s->c->events_topic, (int)m->partition,
                 (long long)m->offset, perr.msg);
        sq_event_free(&s->ev);
        return false;
    }
    if (s->sandbox_id[0] && strcmp(s->ev.sandbox_id, s->sandbox_id) != 0) {
        sq_event_free(&s->ev);
        return false;
    }
    s->json = malloc(m->len + 1);
    s->data_json = json_dumps(s->ev.data, JSON_COMPACT);
    if (!s->json || !s->data_json) {
        clear_current(s);
        return false;
    }
    memcpy(s->json, m->payload, m->len);
    s->json[m->len] = '\0';
    const json_t *st = json_object_get(s->ev.data, "state");
    *ev = (sandq_event){
        .json = s->json,
        .json_len = m->len,
        .type = s->ev.type,
        .event_id = s->ev.event_id,
        .sandbox_id = s->ev.sandbox_id,
        .task_id = s->ev.task_id,
        .request_id = s->ev.request_id,
        .state = json_is_string(st) && !s->ev.task_id[0] ? json_string_value(st) : "",
        .data_json = s->data_json,
        .seq = s->ev.seq,
        .at = s->ev.at,
        .partition = m->partition,
        .offset = m->offset,
    };
    return true;
}

sandq_code sandq_events_next(sandq_sub_t *s, int64_t timeout_ms, sandq_event *ev, sandq_error *err)
{
    sqp_err_clear(err);
    if (!s || !ev)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "subscription and ev must not be NULL");
    clear_current(s);
    int64_t deadline = sq_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t left = sqp_remaining(deadline);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, (int)(left > SQP_POLL_SLICE_MS ? SQP_POLL_SLICE_MS : left));
        if (!m) {
            if (sqp_remaining(deadline) <= 0)
                return sqp_fail(err, SANDQ_E_WAIT_TIMEOUT, "no event within %lld ms", (long long)timeout_ms);
            continue;
        }
        int32_t i = m->partition - s->first;
        bool ours = i >= 0 && i < s->count;
        if (m->err) {
            sandq_code rc = SANDQ_OK;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (ours)
                    s->eof[i] = true;
            } else if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                       m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                       m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
                rc = sqp_fail(err, SANDQ_E_KAFKA, "reading %s: %s", s->c->events_topic, rd_kafka_message_errstr(m));
            } else {
                sqp_note_kafka_error(s->c, rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            if (rc)
                return rc;
            continue;
        }
        if (!ours || m->offset < s->position[i]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        s->position[i] = m->offset + 1;
        s->eof[i] = false;
        bool ok = take_event(s, m, ev);
        rd_kafka_message_destroy(m);
        if (ok)
            return SANDQ_OK;
    }
}
