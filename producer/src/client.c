/* client.c — the client handle: configuration (options, then environment, then
 * defaults), the shared idempotent producer, a small pool of consumers used by
 * waiters, and the cached partition count of the events topic.
 *
 * One producer per client, shared by all threads (librdkafka producers are
 * thread-safe). Consumers are not shared: each waiting call borrows one from the
 * pool, assigns it to the one partition it needs, and gives it back. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery.h"
#include "internal.h"
#include "sq/clock.h"
#include "sq/env.h"
#include "sq/log.h"

#define DEFAULT_TIMEOUT_MS 60000

/* ---- time ---- */

int64_t sqp_deadline(const sandq_client_t *c, int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        timeout_ms = c->timeout_ms;
    return sq_mono_ms() + timeout_ms;
}

int64_t sqp_remaining(int64_t deadline)
{
    int64_t r = deadline - sq_mono_ms();
    return r > 0 ? r : 0;
}

/* ---- librdkafka callbacks ---- */

void sqp_note_kafka_error(sandq_client_t *c, const char *msg)
{
    pthread_mutex_lock(&c->lock);
    snprintf(c->last_kafka_error, sizeof c->last_kafka_error, "%s", msg);
    c->last_kafka_error_at = sq_mono_ms();
    pthread_mutex_unlock(&c->lock);
}

static void on_kafka_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)rk;
    sandq_client_t *c = opaque;
    sq_debug(NULL, "kafka error %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)code), reason);
    /* Remember only errors that explain why no answer can come; a single dropped
     * connection (an idle one closed by the broker) is retried and means nothing. */
    switch (code) {
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__FATAL: {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", reason);
        sqp_note_kafka_error(c, msg);
        break;
    }
    default:
        break;
    }
}

/* librdkafka logs connection attempts on stderr by default; a CLI user should see one
 * clear error instead, so its log goes to our logger at debug level. */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    sq_debug(NULL, "librdkafka %s: %s", fac, buf);
}

/* ---- configuration ---- */

static sandq_code conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, sandq_error *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "Kafka setting %s=%s: %s", key, val, errstr);
    return SANDQ_OK;
}

static rd_kafka_conf_t *base_conf(sandq_client_t *c, sandq_error *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_error_cb(conf, on_kafka_error);
    rd_kafka_conf_set_log_cb(conf, on_kafka_log);
    if (conf_set(conf, "bootstrap.servers", c->brokers, err) || conf_set(conf, "client.id", c->client_id, err) ||
        conf_set(conf, "socket.nagle.disable", "true", err))
        goto fail;
    for (char **kv = c->kafka_conf; kv && *kv; kv++) {
        char *eq = strchr(*kv, '=');
        if (!eq || eq == *kv) {
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "kafka_conf entry \"%s\" is not key=value", *kv);
            goto fail;
        }
        *eq = '\0';
        sandq_code rc = conf_set(conf, *kv, eq + 1, err);
        *eq = '=';
        if (rc)
            goto fail;
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
static rd_kafka_t *new_producer(sandq_client_t *c, sandq_error *err);

static rd_kafka_conf_t *producer_conf(sandq_client_t *c, sandq_error *err)
{
    rd_kafka_conf_t *conf = base_conf(c, err);
    if (!conf)
        return NULL;
    char linger[16];
    snprintf(linger, sizeof linger, "%d", c->linger_ms);
    /* murmur2_random is the Java client's partitioner: every client and every
     * worker computes the same partition for a sandbox id (PROTOCOL.md). These are
     * set after the user's kafka_conf so they cannot be overridden. */
    if (conf_set(conf, "partitioner", "murmur2_random", err) || conf_set(conf, "acks", "all", err) ||
        conf_set(conf, "enable.idempotence", "true", err) || conf_set(conf, "linger.ms", linger, err) ||
        conf_set(conf, "message.timeout.ms", "30000", err) ||
        /* let the worker (not the client) decide what is too large: it answers
         * payload_too_large; the dev broker accepts 4 MiB */
        conf_set(conf, "message.max.bytes", "4194304", err)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    return conf;
}

/* The shared producer, made on the first request rather than in sandq_client_new:
 * an idempotent librdkafka producer that sits idle after rd_kafka_new() only gets
 * its producer id on a 1 s retry timer, while one that produces at once gets it
 * within milliseconds — a second saved on every CLI command. */
rd_kafka_t *sqp_producer(sandq_client_t *c, sandq_error *err)
{
    pthread_mutex_lock(&c->lock);
    rd_kafka_t *rk = c->producer;
    if (!rk) {
        sandq_error e;
        rk = c->producer = new_producer(c, &e);
        if (!rk && err)
            *err = e;
    }
    pthread_mutex_unlock(&c->lock);
    return rk;
}

static rd_kafka_t *new_producer(sandq_client_t *c, sandq_error *err)
{
    rd_kafka_conf_t *conf = producer_conf(c, err);
    if (!conf)
        return NULL;
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        sqp_fail(err, SANDQ_E_KAFKA, "cannot create Kafka producer: %s", errstr);
    }
    return rk;
}

static rd_kafka_t *new_consumer(sandq_client_t *c, sandq_error *err)
{
    rd_kafka_conf_t *conf = base_conf(c, err);
    if (!conf)
        return NULL;
    /* librdkafka's assign() needs a group.id, but the group is never joined (no
     * subscribe) and nothing is committed, so all clients can share this name. */
    if (conf_set(conf, "group.id", "sandq-client-nocommit", err) ||
        conf_set(conf, "enable.auto.commit", "false", err) ||
        conf_set(conf, "enable.auto.offset.store", "false", err) ||
        conf_set(conf, "enable.partition.eof", "true", err) ||
        conf_set(conf, "allow.auto.create.topics", "false", err) ||
        conf_set(conf, "fetch.wait.max.ms", "100", err) || conf_set(conf, "fetch.error.backoff.ms", "100", err)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        sqp_fail(err, SANDQ_E_KAFKA, "cannot create Kafka consumer: %s", errstr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Delivery reports: the per-message opaque is a heap-allocated sqp_delivery shared
 * with the waiting thread (produce.c), freed by whichever side is last. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->_private && *(const unsigned *)m->_private == SQP_PUB_TAG)
        sqp_publish_done(m->_private, m->err, m->len);
    else
        sqp_delivery_done(m->_private, m->err);
}

static char *dup_or(const char *v, const char *env, const char *fallback)
{
    const char *s = (v && *v) ? v : sq_env_str(env, fallback);
    return strdup(s);
}

sandq_client_t *sandq_client_new(const sandq_client_opts *opts, sandq_error *err)
{
    sqp_err_clear(err);
    /* libsandq has its own (hidden) copy of the logger: debug lines on request only */
    const char *lvl = getenv("SANDQ_LOG_LEVEL");
    if (lvl && *lvl)
        sq_log_init("libsandq", NULL, sq_log_level_from_name(lvl, SQ_LOG_WARN));
    sandq_client_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_client_opts", err))
        return NULL;
    opts = &o;
    sandq_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->brokers = dup_or(opts->brokers, "SANDQ_KAFKA_BROKERS", "127.0.0.1:19092");
    c->prefix = dup_or(opts->topic_prefix, "SANDQ_TOPIC_PREFIX", "sandq");
    c->tenant = dup_or(opts->tenant, "SANDQ_TENANT", "default");
    c->client_id = strdup(opts->client_id && *opts->client_id ? opts->client_id : "sandq");
    c->redis_url = dup_or(opts->redis_url, "SANDQ_REDIS_URL", "redis://127.0.0.1:16379/0");
    c->database_url = dup_or(opts->database_url, "SANDQ_DATABASE_URL", "postgresql://sandq@127.0.0.1:15432/sandq");
    c->webhook_secret_key = dup_or(opts->webhook_secret_key, "SANDQ_WEBHOOK_SECRET_KEY", "");
    c->linger_ms = opts->linger_ms > 0 ? opts->linger_ms : 2;
    if (!c->brokers || !c->prefix || !c->tenant || !c->client_id || !c->redis_url || !c->database_url ||
        !c->webhook_secret_key) {
        sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto fail;
    }
    if (opts->region && *opts->region) {
        if (!sq_region_valid(opts->region)) {
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "region \"%s\" is not three lowercase letters", opts->region);
            goto fail;
        }
        snprintf(c->region, sizeof c->region, "%s", opts->region);
    }
    c->timeout_ms = opts->timeout_ms;
    if (c->timeout_ms <= 0) {
        sq_err e;
        if (sq_env_int("SANDQ_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 1, INT64_MAX / 4, &c->timeout_ms, &e) < 0) {
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s", e.msg);
            goto fail;
        }
    }
    size_t n = 0;
    while (opts->kafka_conf && opts->kafka_conf[n])
        n++;
    c->kafka_conf = calloc(n + 1, sizeof *c->kafka_conf);
    if (!c->kafka_conf) {
        sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if (!(c->kafka_conf[i] = strdup(opts->kafka_conf[i]))) {
            sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
            goto fail;
        }
    sq_topic_events(c->prefix, c->events_topic);
    /* Check the configuration now; the producer itself is made on first use (see
     * sqp_producer). */
    rd_kafka_conf_t *check = producer_conf(c, err);
    if (!check)
        goto fail;
    rd_kafka_conf_destroy(check);
    return c;
fail:
    sandq_client_free(c);
    return NULL;
}

void sandq_client_free(sandq_client_t *c)
{
    if (!c)
        return;
    if (c->producer) {
        rd_kafka_flush(c->producer, 5000);
        rd_kafka_destroy(c->producer);
    }
    for (int i = 0; i < c->n_idle; i++) {
        rd_kafka_consumer_close(c->idle[i]);
        rd_kafka_destroy(c->idle[i]);
    }
    for (char **kv = c->kafka_conf; kv && *kv; kv++)
        free(*kv);
    free(c->kafka_conf);
    free(c->brokers);
    free(c->prefix);
    free(c->tenant);
    free(c->client_id);
    free(c->redis_url);
    free(c->database_url);
    if (c->webhook_secret_key) /* a key: not left in freed memory */
        memset(c->webhook_secret_key, 0, strlen(c->webhook_secret_key));
    free(c->webhook_secret_key);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void sandq_free(void *p) { free(p); }

void sandq_new_sandbox_id(char out[SANDQ_ID_MAX]) { sq_id_new("sbx", out); }

/* ---- consumer pool ---- */

rd_kafka_t *sqp_consumer_get(sandq_client_t *c, sandq_error *err)
{
    rd_kafka_t *rk = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->n_idle > 0)
        rk = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->lock);
    return rk ? rk : new_consumer(c, err);
}

void sqp_consumer_put(sandq_client_t *c, rd_kafka_t *rk)
{
    if (!rk)
        return;
    /* Clearing the assignment also discards messages already fetched for it
     * (librdkafka drops ops from an outdated assignment version). */
    rd_kafka_assign(rk, NULL);
    pthread_mutex_lock(&c->lock);
    if (c->n_idle < SQP_POOL_MAX) {
        c->idle[c->n_idle++] = rk;
        rk = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
}

/* ---- metadata ---- */

sandq_code sqp_events_partitions(sandq_client_t *c, rd_kafka_t *rk, int64_t deadline, int32_t *out,
                                 sandq_error *err)
{
    pthread_mutex_lock(&c->lock);
    int32_t cached = c->events_partitions;
    if (cached > 0 && sq_mono_ms() - c->events_partitions_at > 5 * 60 * 1000)
        cached = 0; /* partitions can be added; re-read now and then */
    pthread_mutex_unlock(&c->lock);
    if (cached > 0) {
        *out = cached;
        return SANDQ_OK;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, c->events_topic, NULL);
    if (!rkt)
        return sqp_fail(err, SANDQ_E_KAFKA, "topic %s: %s", c->events_topic, rd_kafka_err2str(rd_kafka_last_error()));
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr;
    /* Retry for a while: right after start-up the broker may still be electing
     * leaders, and a metadata answer can come back without the topic. Unreachable
     * brokers are reported after 10 s even if the call's deadline is later. */
    int64_t give_up = sq_mono_ms() + 10000;
    if (give_up < deadline)
        deadline = give_up;
    for (;;) {
        int64_t left = sqp_remaining(deadline);
        int tmo = (int)(left < 10000 ? left : 10000);
        if (tmo < 1)
            tmo = 1;
        kerr = rd_kafka_metadata(rk, 0, rkt, &md, tmo);
        if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt > 0)
            break;
        if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            rd_kafka_metadata_destroy(md);
            rd_kafka_topic_destroy(rkt);
            return sqp_fail(err, SANDQ_E_KAFKA, "topic %s does not exist on %s (is the stack up? scripts/stack up)",
                            c->events_topic, c->brokers);
        }
        if (md) {
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        if (sqp_remaining(deadline) <= 0) {
            rd_kafka_topic_destroy(rkt);
            return sqp_fail(err, SANDQ_E_KAFKA, "cannot read metadata of %s from %s: %s", c->events_topic,
                            c->brokers, kerr ? rd_kafka_err2str(kerr) : "topic has no partitions yet");
        }
        if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    int32_t n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    pthread_mutex_lock(&c->lock);
    c->events_partitions = n;
    c->events_partitions_at = sq_mono_ms();
    pthread_mutex_unlock(&c->lock);
    *out = n;
    return SANDQ_OK;
}

/* Leadership moves (a broker restart, a topic just created) answer a watermark
 * query with a retriable error for a moment; only a lasting one is the caller's. */
static bool watermark_error_is_transient(rd_kafka_resp_err_t kerr)
{
    switch (kerr) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION: /* local metadata not caught up yet */
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
        return true;
    default:
        return false;
    }
}

sandq_code sqp_events_offsets(sandq_client_t *c, rd_kafka_t *rk, int32_t partition, int64_t deadline, int64_t *lo,
                              int64_t *hi, sandq_error *err)
{
    int64_t give_up = sq_mono_ms() + 10000;
    if (give_up < deadline)
        deadline = give_up;
    for (;;) {
        int64_t left = sqp_remaining(deadline);
        rd_kafka_resp_err_t kerr =
            rd_kafka_query_watermark_offsets(rk, c->events_topic, partition, lo, hi, (int)(left < 1 ? 1 : left));
        if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR)
            return SANDQ_OK;
        if (!watermark_error_is_transient(kerr) || sqp_remaining(deadline) <= 0)
            return sqp_fail(err, SANDQ_E_KAFKA, "cannot read the offsets of %s [%d] from %s: %s", c->events_topic,
                            (int)partition, c->brokers, rd_kafka_err2str(kerr));
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
