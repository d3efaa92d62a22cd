/* consumer.c — see consumer.h. */
#include "pipeline/consumer.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle/actor.h"
#include "pipeline/completer.h"
#include "pipeline/dispatch.h"
#include "pipeline/forward_rules.h"
#include "pipeline/group_carry.h"
#include "pipeline/kafka_conf.h"
#include "sq/clock.h"
#include "sq/log.h"
#include "util/backoff.h"

/* "0,1,2" for the log: which partitions an operator should look for. */
static void partition_names(const rd_kafka_topic_partition_list_t *parts, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < parts->cnt && used + 16 < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%d", i ? "," : "", (int)parts->elems[i].partition);
}

/* Cooperative-sticky: only partitions that actually move are revoked, so a
 * worker joining or leaving does not disturb every sandbox. A revoked
 * partition's in-flight offsets are forgotten (a completion after the revoke
 * must not move an offset we no longer own); its sandboxes keep running here,
 * and the partition's new owner forwards their requests (pipeline/forward.h). */
/* The forward consumer's assignment: what its group committed is done. */
static void forward_assigned(sq_consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    sq_worker *w = c->w;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
    int64_t lo = 0, hi = 0, done = 0;
    if (!rd_kafka_committed(rk, l, 5000) && l->cnt > 0 && l->elems[0].offset >= 0)
        done = l->elems[0].offset;
    else if (!rd_kafka_query_watermark_offsets(rk, c->topic, 0, &lo, &hi, 5000))
        done = lo; /* nothing committed: it is read from the earliest */
    rd_kafka_topic_partition_list_destroy(l);
    int64_t was = atomic_load(&w->forward_done);
    if (!atomic_load(&w->forward_known) || done > was)
        atomic_store(&w->forward_done, done);
    atomic_store(&w->forward_known, true);
}

/* A requests partition that comes (back) to this worker: the copies its
 * previous owner forwarded here and committed are all in the forward topic
 * already (it commits a forward only once acknowledged, and commits before
 * it lets go). Reading the partition directly before they are dispatched
 * could put a sandbox's later request ahead of an earlier one (two threads):
 * wait until the forward consumer has dispatched up to the forward topic's
 * end as of now — bounded (10 s), since a paused (back-pressured) or
 * unassigned forward consumer must not hold the assignment for ever. */
static void wait_forwarded(sq_consumer *c, rd_kafka_t *rk)
{
    sq_worker *w = c->w;
    const char *fwd = w->consumers[SQ_CONSUMERS_MAX - 1].topic;
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, fwd, 0, &lo, &hi, 5000) || hi <= lo)
        return; /* an empty forward topic (or none yet): nothing to wait for */
    int64_t start = sq_mono_ms(), deadline = start + 10000;
    while (!(atomic_load(&w->forward_known) && atomic_load(&w->forward_done) >= hi)) {
        if (sq_mono_ms() > deadline || atomic_load(&w->stopping)) {
            sq_warn(NULL, "forwarded requests up to %s@%lld not all dispatched after 10 s; reading %s on",
                    fwd, (long long)hi, c->topic);
            return;
        }
        sq_sleep_ms(10);
    }
    sq_debug(NULL, "forwarded requests up to %s@%lld dispatched (waited %lld ms): reading %s", fwd, (long long)hi,
             (long long)(sq_mono_ms() - start), c->topic);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    sq_consumer *c = opaque;
    sq_worker *w = c->w;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    char names[400];
    partition_names(parts, names, sizeof names);
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        atomic_store(&c->assigned, true);
        sq_info(NULL, "assigned %d partitions of %s [%s] (group %s)", parts->cnt, c->topic, names, c->group);
        if (c == &w->consumers[SQ_CONSUMERS_MAX - 1])
            forward_assigned(c, rk, parts);
        else if (parts->cnt > 0 && !atomic_load(&w->stopping))
            /* Not while the worker stops: nothing more is dispatched then, and
             * an assignment that arrives during rd_kafka_consumer_close must
             * not make a blocking broker query from inside the callback (a
             * worker stopping in the middle of a rebalance exited with SIGSEGV
             * once, right after such an assignment). */
            wait_forwarded(c, rk);
        if (cooperative) {
            rd_kafka_error_t *err = rd_kafka_incremental_assign(rk, parts);
            if (err) {
                sq_error(NULL, "incremental assign: %s", rd_kafka_error_string(err));
                rd_kafka_error_destroy(err);
            }
        } else {
            rd_kafka_assign(rk, parts);
        }
        pthread_mutex_lock(&w->offsets_mu);
        bool paused = c->paused;
        pthread_mutex_unlock(&w->offsets_mu);
        if (paused) /* back-pressure applies to new partitions too */
            rd_kafka_pause_partitions(rk, parts);
        return;
    }
    sq_info(NULL, "revoked %d partitions of %s [%s] (group %s)", parts->cnt, c->topic, names, c->group);
    rd_kafka_commit(rk, NULL, 0); /* what is stored is still ours to commit */
    pthread_mutex_lock(&w->offsets_mu);
    for (int i = 0; i < parts->cnt; i++)
        sq_offsets_revoke(w->offsets, parts->elems[i].topic, parts->elems[i].partition);
    pthread_mutex_unlock(&w->offsets_mu);
    if (cooperative) {
        rd_kafka_error_t *err = rd_kafka_incremental_unassign(rk, parts);
        if (err)
            rd_kafka_error_destroy(err);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

/* A handle for c's topic in c's group, subscribed. carry: first start, take
 * over the old single group's offsets if this group has none (group_carry.h). */
static int consumer_new(sq_consumer *c, bool carry, sq_err *err)
{
    sq_worker *w = c->w;
    atomic_store(&c->assigned, false);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char session_timeout[24];
    snprintf(session_timeout, sizeof session_timeout, "%lld", (long long)w->cfg.session_timeout_ms);
    char e[512];
    /* Offsets are stored by hand only after a request's effects are durable
     * (enable.auto.offset.store=false); the background auto-commit then commits
     * what was stored. A crash replays unfinished requests; dedupe by
     * requestId makes the replay harmless. Static membership: the same
     * group.instance.id (the worker id) in each topic's group — a member id
     * is unique per group, not across groups. */
    if (sq_kafka_set(conf, "bootstrap.servers", w->cfg.conn.kafka_brokers, err) < 0 ||
        sq_kafka_set(conf, "client.id", w->cfg.worker_id, err) < 0 || sq_kafka_set(conf, "group.id", c->group, err) < 0 ||
        sq_kafka_set(conf, "enable.auto.offset.store", "false", err) < 0 || sq_kafka_set(conf, "enable.auto.commit", "true", err) < 0 ||
        sq_kafka_set(conf, "auto.commit.interval.ms", "1000", err) < 0 ||
        sq_kafka_set(conf, "auto.offset.reset", "earliest", err) < 0 || sq_kafka_set(conf, "session.timeout.ms", session_timeout, err) < 0 ||
        sq_kafka_set(conf, "heartbeat.interval.ms", "1000", err) < 0 ||
        sq_kafka_set(conf, "topic.metadata.refresh.interval.ms", "10000", err) < 0 ||
        sq_kafka_set(conf, "partition.assignment.strategy", "cooperative-sticky", err) < 0 ||
        /* Prefetch at most 8 MiB per topic (16 MiB in all; librdkafka's
         * default is 64 MiB each): work waits in Kafka, not in this process,
         * and memory stays bounded under a backlog. */
        sq_kafka_set(conf, "queued.max.messages.kbytes", "8192", err) < 0 ||
        (w->cfg.static_membership && sq_kafka_set(conf, "group.instance.id", w->cfg.worker_id, err) < 0) ||
        /* A partition resumed after SANDQ_PARTITION_INFLIGHT held it is only
         * fetched again by the next fetch request, which waits behind the
         * broker's long poll (fetch.wait.max.ms, 500 by default). */
        (w->cfg.partition_inflight > 0 && sq_kafka_set(conf, "fetch.wait.max.ms", "5", err) < 0)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_log_cb(conf, sq_kafka_log_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk)
        return sq_err_set(err, SQ_INTERNAL, "kafka consumer: %s", e);
    rd_kafka_poll_set_consumer(rk);
    /* Workers of the version before per-topic groups, still in the old
     * group, consume the same partitions as this one (docs/operations.md,
     * "Upgrading to per-topic consumer groups"): say so, loudly. */
    int old_members = carry ? sq_group_members(rk, w->cfg.group_id) : 0;
    if (old_members > 0)
        sq_error(NULL, "group %s (workers before one group per requests topic) still has %d members: they consume "
                       "%s as well as this worker's group %s; stop every worker of the older version",
                 w->cfg.group_id, old_members, c->topic, c->group);
    /* Kafka not answering now must not make a new group start at the
     * earliest offset: try for a minute (four tries of up to 15 s) before
     * going on without. */
    for (int attempt = 0; carry && attempt < 4 && !atomic_load(&w->stopping); attempt++)
        if (sq_group_carry_offsets(rk, w->cfg.conn.kafka_brokers, c->topic, w->cfg.group_id) >= 0)
            break;

    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rc = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (rc) {
        rd_kafka_destroy(rk);
        return sq_err_set(err, SQ_INTERNAL, "kafka subscribe %s: %s", c->topic, rd_kafka_err2str(rc));
    }
    pthread_mutex_lock(&c->handle_mu);
    c->rk = rk;
    pthread_mutex_unlock(&c->handle_mu);
    sq_info(NULL, "subscribed to %s as group %s", c->topic, c->group);
    return 0;
}

int sq_consumers_new(sq_worker *w, sq_err *err)
{
    char global[SQ_TOPIC_MAX], regional[SQ_TOPIC_MAX];
    sq_topic_requests(w->cfg.conn.topic_prefix, NULL, global);
    sq_topic_requests(w->cfg.conn.topic_prefix, w->cfg.region, regional);
    char forward[SQ_TOPIC_MAX];
    if (sq_forward_topic(w->cfg.conn.topic_prefix, w->cfg.worker_id, forward, sizeof forward) < 0)
        return sq_err_set(err, SQ_INTERNAL, "worker id %s is too long for a forward topic name", w->cfg.worker_id);
    /* The third: this worker's forward topic (pipeline/forward.h) — requests
     * for the sandboxes it hosts whose partitions moved to other workers. */
    const char *topics[SQ_CONSUMERS_MAX] = {global, regional, forward};
    for (size_t i = 0; i < SQ_CONSUMERS_MAX; i++) {
        sq_consumer *c = &w->consumers[i];
        c->w = w;
        pthread_mutex_init(&c->handle_mu, NULL);
        snprintf(c->topic, sizeof c->topic, "%s", topics[i]);
        snprintf(c->group, sizeof c->group, "%s.%s", w->cfg.group_id, topics[i]);
        w->n_consumers = i + 1;
        if (consumer_new(c, i < 2, err) < 0)
            return -1;
    }
    return 0;
}

/* librdkafka before 2.3 (Debian's is 2.0.2) aborts when a cooperative-sticky
 * consumer that never received an assignment is destroyed: its assignor state
 * is still NULL and rd_kafka_sticky_assignor_state_destroy asserts on it
 * (librdkafka issue #4312). That happens when a consumer re-created after a
 * fence (a broker restart, static membership) is fenced again before its
 * first assignment. Such a handle is parked instead: fatal, it consumes
 * nothing; it costs its memory and threads until exit. */
static void discard(sq_consumer *c, bool leave_group)
{
    pthread_mutex_lock(&c->handle_mu);
    rd_kafka_t *rk = c->rk;
    c->rk = NULL;
    pthread_mutex_unlock(&c->handle_mu);
    if (!rk)
        return;
    if (!atomic_load(&c->assigned)) {
        for (size_t i = 0; i < sizeof c->parked / sizeof *c->parked; i++)
            if (!c->parked[i]) {
                sq_warn(NULL, "kafka consumer of %s had no assignment yet: parked, not destroyed (librdkafka #4312)",
                        c->topic);
                c->parked[i] = rk;
                return;
            }
    }
    if (leave_group) {
        rd_kafka_commit(rk, NULL, 0);
        rd_kafka_consumer_close(rk); /* leaves the group */
    }
    rd_kafka_destroy(rk);
}

/* Offer every partition's lowest unfinished offset for the next auto-commit:
 * this topic's partitions only (the other topic's are its consumer's). */
static void store_offsets(sq_consumer *c)
{
    sq_worker *w = c->w;
    sq_offset_commit v[64];
    size_t n;
    do {
        pthread_mutex_lock(&w->offsets_mu);
        n = sq_offsets_take_committable(w->offsets, c->topic, v, 64);
        pthread_mutex_unlock(&w->offsets_mu);
        if (!n)
            break;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(l, v[i].topic, v[i].partition)->offset = v[i].offset;
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
        if (e)
            sq_debug(NULL, "offsets_store: %s", rd_kafka_err2str(e)); /* a partition revoked meanwhile */
        rd_kafka_topic_partition_list_destroy(l);
    } while (n == 64);
}

/* Bounded concurrency: past SANDQ_MAX_INFLIGHT unfinished messages (over both
 * topics), stop fetching (each consumer pauses its assigned partitions) and
 * resume below half. The consumer keeps polling meanwhile, so it stays in its
 * group. */
static void apply_backpressure(sq_consumer *c)
{
    sq_worker *w = c->w;
    pthread_mutex_lock(&w->offsets_mu);
    size_t inflight = sq_offsets_inflight(w->offsets);
    bool paused = c->paused;
    bool want = paused ? inflight > (size_t)w->cfg.max_inflight / 2 : inflight >= (size_t)w->cfg.max_inflight;
    pthread_mutex_unlock(&w->offsets_mu);
    if (want == paused)
        return;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(c->rk, &parts) || !parts)
        return;
    if (want)
        rd_kafka_pause_partitions(c->rk, parts);
    else
        rd_kafka_resume_partitions(c->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    pthread_mutex_lock(&w->offsets_mu);
    c->paused = want;
    pthread_mutex_unlock(&w->offsets_mu);
    sq_info(NULL, "%s fetching %s: %zu requests in flight", want ? "paused" : "resumed", c->topic, inflight);
}

/* SANDQ_PARTITION_INFLIGHT: a partition with that many unfinished messages
 * stops fetching until one finishes — with 1, the classic one-in-flight-per-
 * partition consumer (strict partition order), the baseline the key-ordered
 * default is measured against (tests/bench/throughput.py). */
static void apply_partition_bound(sq_consumer *c)
{
    sq_worker *w = c->w;
    if (w->cfg.partition_inflight <= 0)
        return;
    sq_offset_commit hold[64], release[64];
    size_t nh, nr;
    pthread_mutex_lock(&w->offsets_mu);
    sq_offsets_holds(w->offsets, c->topic, (size_t)w->cfg.partition_inflight, hold, &nh, release, &nr, 64);
    pthread_mutex_unlock(&w->offsets_mu);
    for (int pass = 0; pass < 2; pass++) {
        sq_offset_commit *v = pass ? release : hold;
        size_t n = pass ? nr : nh;
        if (!n)
            continue;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(l, v[i].topic, v[i].partition);
        if (pass)
            rd_kafka_resume_partitions(c->rk, l);
        else
            rd_kafka_pause_partitions(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Sleep up to ms, waking early on a stop. */
static void nap(sq_worker *w, int64_t ms)
{
    for (int64_t slept = 0; slept < ms && !atomic_load(&w->stopping); slept += 100)
        sq_sleep_ms(100);
}

/* SIGTERM: stop fetching, stay in the group while the actors finish what
 * they hold (bounded by SANDQ_SHUTDOWN_GRACE_MS), storing what completes.
 * Messages still handed out by the poll are dropped undispatched: their
 * offsets never arrived, so no commit passes them. */
static void drain(sq_consumer *c)
{
    sq_worker *w = c->w;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!rd_kafka_assignment(c->rk, &parts) && parts) {
        rd_kafka_pause_partitions(c->rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    int64_t deadline = sq_mono_ms() + w->cfg.shutdown_grace_ms;
    pthread_mutex_lock(&w->registry_mu);
    while (w->actors > 0 && sq_mono_ms() < deadline) {
        pthread_mutex_unlock(&w->registry_mu);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 50); /* stay in the group while we drain */
        if (m)
            rd_kafka_message_destroy(m);
        store_offsets(c);
        pthread_mutex_lock(&w->registry_mu);
    }
    size_t left = w->actors;
    pthread_mutex_unlock(&w->registry_mu);
    if (left)
        sq_warn(NULL, "%zu sandboxes still busy at the shutdown deadline; their requests will be redelivered", left);
    /* Finished requests whose acknowledgements are on their way: their
     * offsets are worth committing before the group is left. */
    while (sq_completer_outstanding(w->completer) > 0 && sq_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 20);
        if (m)
            rd_kafka_message_destroy(m);
        store_offsets(c);
    }
    store_offsets(c);
}

static void *consumer_main(void *arg)
{
    sq_consumer *c = arg;
    sq_worker *w = c->w;
    sq_backoff refence = sq_backoff_make(1000, 30000);
    int64_t last_fence = 0;
    while (!atomic_load(&w->stopping)) {
        /* While fetching is paused nothing wakes the poll but its timeout, and
         * the resume waits for it: keep it short then. */
        pthread_mutex_lock(&w->offsets_mu);
        bool paused = c->paused || w->cfg.partition_inflight > 0;
        pthread_mutex_unlock(&w->offsets_mu);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, paused ? 5 : 100);
        if (m && m->err == RD_KAFKA_RESP_ERR__FATAL) {
            /* e.g. librdkafka fences its own static member after a broker
             * restart. The handle is unusable: make a new one and rejoin this
             * topic's group. Sandboxes stay up: their partitions come back to
             * us (static membership), or their requests are forwarded here. */
            char why[512];
            rd_kafka_fatal_error(c->rk, why, sizeof why);
            sq_error(NULL, "kafka consumer of %s hit a fatal error (%s); re-creating it", c->topic, why);
            rd_kafka_message_destroy(m);
            discard(c, false);
            /* Fenced again soon after rejoining: another live process holds
             * this worker id (SANDQ_WORKER_ID must be unique). Rejoining at
             * once would only fence it back, in a loop: back off, 1 s doubling
             * to 30 s, until the fences stop. */
            int64_t now = sq_mono_ms(), refence_backoff_ms = 0;
            if (now - last_fence < 60000)
                refence_backoff_ms = sq_backoff_next(&refence);
            else
                sq_backoff_reset(&refence); /* the fences had stopped: the next one in a minute waits 1 s */
            last_fence = now;
            if (refence_backoff_ms) {
                sq_error(NULL, "fenced again within a minute: is another worker running as %s? rejoining in %lld ms",
                         w->cfg.worker_id, (long long)refence_backoff_ms);
                nap(w, refence_backoff_ms);
            }
            sq_err err;
            while (!atomic_load(&w->stopping) && consumer_new(c, false, &err) < 0) {
                sq_error(NULL, "%s; retrying", err.msg);
                sleep(1);
            }
            if (!c->rk)
                return NULL; /* stopping before a new handle was made: nothing to drain */
            continue;
        }
        if (m && m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                sq_warn(NULL, "kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else if (m) {
            bool forwarded = c == &w->consumers[SQ_CONSUMERS_MAX - 1];
            int64_t next = m->offset + 1;
            sq_dispatch(w, m);
            if (forwarded) /* in its sandbox's mailbox (or answered): wait_forwarded's mark */
                atomic_store(&w->forward_done, next);
        }
        store_offsets(c);
        apply_backpressure(c);
        apply_partition_bound(c);
    }
    drain(c);
    return NULL;
}

int sq_consumers_start(sq_worker *w, sq_err *err)
{
    for (size_t i = 0; i < w->n_consumers; i++) {
        sq_consumer *c = &w->consumers[i];
        if (pthread_create(&c->thread, NULL, consumer_main, c) != 0)
            return sq_err_errno(err, "pthread_create");
        c->thread_started = true;
    }
    return 0;
}

void sq_consumers_join(sq_worker *w)
{
    for (size_t i = 0; i < w->n_consumers; i++)
        if (w->consumers[i].thread_started) {
            pthread_join(w->consumers[i].thread, NULL);
            w->consumers[i].thread_started = false;
        }
}

void sq_consumers_close(sq_worker *w)
{
    for (size_t i = 0; i < w->n_consumers; i++)
        discard(&w->consumers[i], true);
}
