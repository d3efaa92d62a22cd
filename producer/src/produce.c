/* produce.c — publishing a request: check it as the worker will, produce it keyed by
 * its sandbox id (murmur2 partitioner, acks=all, idempotent), and wait for the
 * broker's acknowledgement, so a call that returns SANDQ_OK has a durable request. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "internal.h"
#include "sq/clock.h"
#include "sq/log.h"

/* Validate with the worker's own parser: a bad request fails here with the same code
 * and field the worker would put in request.rejected, without a round trip. Size is
 * not checked: the worker's limit is its configuration, not ours. */
static sandq_code check_locally(const char *buf, size_t len, sandq_error *err)
{
    sq_request req;
    sq_err e;
    sq_err_clear(&e);
    sq_parse_outcome out = sq_request_parse(buf, len, SIZE_MAX, &req, &e);
    sq_request_free(&req);
    if (out == SQ_PARSE_OK)
        return SANDQ_OK;
    sandq_code code = sqp_code_from_wire(sq_code_name(e.code));
    sqp_fail(err, code, "%s", e.msg);
    if (err)
        snprintf(err->field, sizeof err->field, "%s", e.field);
    return code;
}

sandq_code sqp_produce(sandq_client_t *c, const char *topic, const char *sandbox_id, const json_t *env,
                       int64_t deadline, sandq_error *err)
{
    char *buf = json_dumps(env, JSON_COMPACT);
    if (!buf)
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "cannot serialize the request");
    size_t len = strlen(buf);
    sandq_code rc = check_locally(buf, len, err);
    if (rc) {
        free(buf);
        return rc;
    }
    rd_kafka_t *producer = sqp_producer(c, err);
    if (!producer) {
        free(buf);
        return err ? err->code : SANDQ_E_KAFKA;
    }
    sqp_delivery *d = sqp_delivery_new();
    if (!d) {
        free(buf);
        return sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
    }
    int64_t started = sq_mono_ms();
    rd_kafka_resp_err_t kerr = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(sandbox_id, strlen(sandbox_id)),
        RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    if (kerr) {
        free(buf);
        free(d); /* never handed to librdkafka */
        if (kerr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
            return sqp_fail(err, SANDQ_E_PAYLOAD_TOO_LARGE, "request of %zu bytes is larger than Kafka accepts",
                            len);
        return sqp_fail(err, SANDQ_E_KAFKA, "cannot produce to %s: %s", topic, rd_kafka_err2str(kerr));
    }
    /* Serve delivery reports until ours arrives. Another thread polling may run our
     * callback instead; then `done` flips and we see it on the next slice. */
    while (!atomic_load(&d->done)) {
        int64_t left = sqp_remaining(deadline);
        if (left <= 0) {
            sqp_delivery_release(d);
            return sqp_fail_timeout(c, err, sq_mono_ms() - started, "waiting for Kafka to acknowledge the request");
        }
        rd_kafka_poll(producer, (int)(left < 50 ? left : 50));
    }
    kerr = d->err;
    sqp_delivery_release(d);
    sq_debug(&(sq_log_ctx){.sandbox_id = sandbox_id}, "produced to %s in %lld ms: %s", topic,
             (long long)(sq_mono_ms() - started), rd_kafka_err2name(kerr));
    if (kerr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        return sqp_fail(err, SANDQ_E_PAYLOAD_TOO_LARGE, "request of %zu bytes is larger than the broker accepts", len);
    if (kerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || kerr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        return sqp_fail(err, SANDQ_E_KAFKA, "topic %s does not exist on %s", topic, c->brokers);
    if (kerr)
        return sqp_fail(err, SANDQ_E_KAFKA, "delivery to %s failed: %s", topic, rd_kafka_err2str(kerr));
    return SANDQ_OK;
}

sandq_code sqp_send(sandq_client_t *c, const char *sandbox_id, const char *type, const char *task_id,
                    json_t *body, json_t *metadata, int64_t deadline, char request_id[SQ_ID_MAX],
                    sandq_error *err)
{
    sq_id_new("req", request_id);
    json_t *env = sqp_envelope(type, request_id, sandbox_id, task_id, c->tenant, NULL, metadata, body);
    char topic[SQ_TOPIC_MAX];
    sqp_request_topic(c, sandbox_id, topic);
    sandq_code rc = sqp_produce(c, topic, sandbox_id, env, deadline, err);
    json_decref(env);
    if (rc && err && !err->request_id[0])
        snprintf(err->request_id, sizeof err->request_id, "%s", request_id);
    return rc;
}
