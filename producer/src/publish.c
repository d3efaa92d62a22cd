/* publish.c — bulk publishing (sandq_publish, sandq_poll, sandq_flush): a complete
 * envelope is checked as the worker would check it, keyed by its sandbox id and
 * handed to librdkafka without waiting, so the idempotent producer batches
 * (linger.ms) and pipelines; each message's delivery report reaches the caller's
 * callback. The batch command (producer/cli/cmd_batch.c) is built on this. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sq/clock.h"

typedef struct sqp_pub {
    unsigned tag; /* SQP_PUB_TAG: tells on_delivery (client.c) this is not a sqp_delivery */
    sandq_delivery_fn cb;
    void *user;
} sqp_pub;

void sqp_publish_done(void *opaque, rd_kafka_resp_err_t kerr, size_t len)
{
    sqp_pub *p = opaque;
    if (p->cb) {
        if (!kerr) {
            p->cb(p->user, SANDQ_OK, "");
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "delivery failed: %s", rd_kafka_err2str(kerr));
            p->cb(p->user,
                  kerr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SANDQ_E_PAYLOAD_TOO_LARGE : SANDQ_E_KAFKA, msg);
        }
    }
    (void)len;
    free(p);
}

/* Parse and validate with the worker's own parser; on success *req holds the
 * envelope (free with sq_request_free). */
static sandq_code check(const char *envelope_json, size_t len, sq_request *req, sandq_error *err)
{
    sq_err e;
    sq_err_clear(&e);
    sq_parse_outcome out = sq_request_parse(envelope_json, len, SIZE_MAX, req, &e);
    if (out == SQ_PARSE_OK)
        return SANDQ_OK;
    sq_request_free(req);
    sandq_code code = sqp_code_from_wire(sq_code_name(e.code));
    sqp_fail(err, code, "%s", e.msg);
    if (err)
        snprintf(err->field, sizeof err->field, "%s", e.field);
    return code;
}

sandq_code sandq_check_request(const char *envelope_json, size_t len, sandq_error *err)
{
    sqp_err_clear(err);
    if (!envelope_json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "envelope is NULL");
    sq_request req;
    sandq_code rc = check(envelope_json, len, &req, err);
    if (!rc)
        sq_request_free(&req);
    return rc;
}

static sandq_code produce_async(sandq_client_t *c, const char *topic, const char *key, const char *envelope_json,
                                size_t len, sandq_delivery_fn cb, void *user, sandq_error *err)
{
    rd_kafka_t *producer = sqp_producer(c, err);
    if (!producer)
        return err ? err->code : SANDQ_E_KAFKA;
    sqp_pub *p = malloc(sizeof *p);
    if (!p)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    *p = (sqp_pub){.tag = SQP_PUB_TAG, .cb = cb, .user = user};
    int64_t deadline = sqp_deadline(c, 0);
    for (;;) {
        /* RD_KAFKA_MSG_F_COPY: librdkafka copies into its own buffer, no malloc here */
        rd_kafka_resp_err_t kerr = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)envelope_json, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(p), RD_KAFKA_V_END);
        if (!kerr)
            return SANDQ_OK;
        if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL && sqp_remaining(deadline) > 0) {
            rd_kafka_poll(producer, 10); /* make room: serve delivery reports */
            continue;
        }
        free(p);
        if (kerr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            return sqp_fail(err, SANDQ_E_PAYLOAD_TOO_LARGE, "request of %zu bytes is larger than Kafka accepts", len);
        if (kerr == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return sqp_fail_timeout(c, err, c->timeout_ms, "waiting for room in the producer queue");
        return sqp_fail(err, SANDQ_E_KAFKA, "cannot produce to %s: %s", topic, rd_kafka_err2str(kerr));
    }
}

sandq_code sandq_publish_checked(sandq_client_t *c, const char *sandbox_id, const char *create_region,
                                 const char *envelope_json, size_t len, sandq_delivery_fn cb, void *user,
                                 sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !sandbox_id || !envelope_json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, sandbox_id and envelope must not be NULL");
    char topic[SQ_TOPIC_MAX];
    if (create_region) {
        sq_topic_requests(c->prefix, create_region, topic);
        if (*create_region || c->region[0]) /* later requests follow the create's topic */
            sqp_known_put(c, sandbox_id, create_region, -1, -1);
    } else {
        sqp_request_topic(c, sandbox_id, topic);
    }
    return produce_async(c, topic, sandbox_id, envelope_json, len, cb, user, err);
}

sandq_code sandq_publish(sandq_client_t *c, const char *envelope_json, size_t len, sandq_delivery_fn cb, void *user,
                         sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !envelope_json)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and envelope must not be NULL");
    sq_request req;
    sandq_code rc = check(envelope_json, len, &req, err);
    if (rc)
        return rc;
    const char *region = NULL;
    if (req.type == SQ_REQ_SANDBOX_CREATE) {
        const json_t *r = json_object_get(req.body, "region");
        region = json_is_string(r) ? json_string_value(r) : "";
    }
    char key[SQ_ID_MAX];
    snprintf(key, sizeof key, "%s", req.sandbox_id);
    sq_request_free(&req);
    return sandq_publish_checked(c, key, region, envelope_json, len, cb, user, err);
}

int sandq_poll(sandq_client_t *c, int timeout_ms)
{
    if (!c)
        return 0;
    rd_kafka_t *producer = sqp_producer(c, NULL);
    return producer ? rd_kafka_poll(producer, timeout_ms < 0 ? 0 : timeout_ms) : 0;
}

sandq_code sandq_flush(sandq_client_t *c, int64_t timeout_ms, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    rd_kafka_t *producer = sqp_producer(c, err);
    if (!producer)
        return err ? err->code : SANDQ_E_KAFKA;
    int64_t started = sq_mono_ms();
    int64_t deadline = sqp_deadline(c, timeout_ms);
    while (rd_kafka_outq_len(producer) > 0) {
        int64_t left = sqp_remaining(deadline);
        if (left <= 0)
            return sqp_fail_timeout(c, err, sq_mono_ms() - started, "waiting for Kafka to acknowledge requests");
        rd_kafka_poll(producer, (int)(left < 100 ? left : 100));
    }
    return SANDQ_OK;
}
