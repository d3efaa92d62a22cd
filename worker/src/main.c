/* main.c — sandq-worker: `run` (the default) consumes requests and runs
 * sandboxes; `migrate` applies the PostgreSQL migrations and exits. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps/browser/browser.h"
#include "caps/documents/convert.h"
#include "lifecycle/actor.h"
#include "pipeline/completer.h"
#include "pipeline/dispatch.h"
#include "http.h"
#include "store/writer.h"
#include "pipeline/ownership.h"
#include "pipeline/kafka_conf.h"
#include "notify/webhook_delivery.h"
#include "store/migrations.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "lifecycle/workspace_sweep.h"
#include "sandbox/disk.h"
#include "sq/clock.h"
#include "sq/fsutil.h"
#include "sq/log.h"
#include "util/backoff.h"

static sq_worker *the_worker;

static void on_signal(int sig)
{
    (void)sig;
    if (the_worker)
        atomic_store(&the_worker->stopping, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sandq-worker [run]      consume sandq requests and run sandboxes\n"
            "       sandq-worker migrate    apply pending PostgreSQL migrations and exit\n"
            "\n"
            "Configuration comes from the environment (see docs/operations.md):\n"
            "  SANDQ_KAFKA_BROKERS, SANDQ_REDIS_URL, SANDQ_DATABASE_URL, SANDQ_TOPIC_PREFIX,\n"
            "  SANDQ_WORKER_ID, SANDQ_REGION, SANDQ_WORKSPACE_ROOT, SANDQ_MAX_SANDBOXES, ...\n");
}

static int cmd_migrate(void)
{
    sq_conn_config conn;
    sq_conn_config_from_env(&conn);
    sq_err err;
    int applied = 0;
    if (sq_migrate(conn.database_url, &applied, &err) < 0) {
        sq_error(NULL, "migrate failed: %s", err.msg);
        return 1;
    }
    sq_info(NULL, "migrations up to date (%d applied now)", applied);
    return 0;
}

/* Delivery reports are served here, so a job learns quickly that its events
 * are acknowledged, whatever the other threads are doing. */
static void *producer_poller(void *arg)
{
    sq_worker *w = arg;
    /* Runs until main says so, after the actors and the writer are done:
     * during shutdown they still wait on deliveries served here. */
    while (!atomic_load(&w->producer_done) || rd_kafka_outq_len(w->producer) > 0)
        rd_kafka_poll(w->producer, 50);
    return NULL;
}

/* Each sandbox holds a few descriptors in the worker (its control socket,
 * pidfd, workspace, uid-slot lock, cgroup files): a thousand sandboxes need
 * more than the usual soft limit of 1024. The hard limit is the operator's. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            sq_warn(NULL, "could not raise the open-files limit to %llu: %s", (unsigned long long)rl.rlim_max,
                    strerror(errno));
    }
}

static int start(sq_worker *w, sq_err *err)
{
    raise_nofile();
    if (sq_mkdir_p(w->cfg.workspace_root, 0711) < 0)
        return sq_err_errno(err, "mkdir %s", w->cfg.workspace_root);
    if (sq_mkdir_p(w->cfg.run_dir, 0711) < 0)
        return sq_err_errno(err, "mkdir %s", w->cfg.run_dir);
    sq_disk_set_templates_max((int)w->cfg.disk_templates);
    sq_workspace_sweep(w); /* what a killed worker left: mounts, directories, templates */
    sq_topic_events(w->cfg.conn.topic_prefix, w->topic_events);
    sq_topic_dlq(w->cfg.conn.topic_prefix, w->topic_dlq);
    if (sq_cgroups_init(w->cfg.worker_id, w->cfg.cgroup_mode, err) < 0)
        return -1;
    sq_info(NULL, "cgroups: %s", sq_cgroups_describe());
    if (w->cfg.cgroup_favor_dynmods) {
        char done[1200];
        sq_err why;
        if (sq_cgroup_favor_dynmods(done, sizeof done, &why) == 0)
            sq_info(NULL, "cgroups: %s (SANDQ_CGROUP_FAVOR_DYNMODS=0 leaves the host as it is)", done);
        else /* slower launches and tasks, nothing worse */
            sq_warn(NULL, "cgroups: cannot set favordynmods, migrations wait for RCU: %s", why.msg);
    }
    { /* issue 11: capabilities.browser is offered only when the binary is there */
        char why[600];
        const char *bin = sq_browser_detect(why, sizeof why);
        if (bin)
            sq_info(NULL, "browser: available (%s)", bin);
        else
            sq_warn(NULL, "browser: unavailable, creates with capabilities.browser are rejected: %s", why);
    }
    { /* issue 15: capabilities.documents likewise, when LibreOffice is there */
        char why[600];
        const char *bin = sq_doc_detect(why, sizeof why);
        if (bin)
            sq_info(NULL, "documents: available (%s)", bin);
        else
            sq_warn(NULL, "documents: unavailable, creates with capabilities.documents are rejected: %s", why);
    }
    sq_id_new("run", w->incarnation);
    pthread_mutex_init(&w->registry_mu, NULL);
    pthread_cond_init(&w->actors_cv, NULL);
    pthread_mutex_init(&w->offsets_mu, NULL);
    w->offsets = sq_offsets_new();
    sq_pool_init(&w->pool, (int)w->cfg.store_pool, w->cfg.conn.redis_url, w->cfg.conn.database_url);
    if (!w->offsets)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    /* Fail fast on a bad URL or a service that is not there at all. */
    if (!sq_redis_ping(w))
        return sq_err_set(err, SQ_INTERNAL, "redis at %s does not answer", w->cfg.conn.redis_url);
    bool known;
    if (sq_pg_request_known(w, "req_00000000000000000000000000", &known, err) < 0)
        return -1;
    if (!(w->writer = sq_writer_start(w, (size_t)w->cfg.history_queue, err)))
        return -1;
    if (sq_kafka_producer_new(w, err) < 0)
        return -1;
    if (!(w->completer = sq_completer_start(w, err)))
        return -1;
    if (pthread_create(&w->producer_poller, NULL, producer_poller, w) != 0)
        return sq_err_errno(err, "pthread_create");
    if (sq_ownership_start(w, err) < 0 || sq_kafka_consumer_new(w, err) < 0 || sq_webhooks_start(w, err) < 0)
        return -1;
    return sq_http_start(w, err) < 0 ? -1 : 0;
}

/* Offer every partition's lowest unfinished offset for the next auto-commit. */
static void store_offsets(sq_worker *w)
{
    sq_offset_commit c[64];
    size_t n;
    do {
        pthread_mutex_lock(&w->offsets_mu);
        n = sq_offsets_take_committable(w->offsets, c, 64);
        pthread_mutex_unlock(&w->offsets_mu);
        if (!n)
            break;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
        for (size_t i = 0; i < n; i++)
            rd_kafka_topic_partition_list_add(l, c[i].topic, c[i].partition)->offset = c[i].offset;
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(w->consumer, l);
        if (e)
            sq_debug(NULL, "offsets_store: %s", rd_kafka_err2str(e)); /* a partition revoked meanwhile */
        rd_kafka_topic_partition_list_destroy(l);
    } while (n == 64);
}

/* Bounded concurrency: past SANDQ_MAX_INFLIGHT unfinished messages, stop
 * fetching (pause every assigned partition) and resume below half. The
 * consumer keeps polling meanwhile, so it stays in the group. */
static void apply_backpressure(sq_worker *w)
{
    pthread_mutex_lock(&w->offsets_mu);
    size_t inflight = sq_offsets_inflight(w->offsets);
    bool paused = w->partitions_paused;
    bool want = paused ? inflight > (size_t)w->cfg.max_inflight / 2 : inflight >= (size_t)w->cfg.max_inflight;
    pthread_mutex_unlock(&w->offsets_mu);
    if (want == paused)
        return;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(w->consumer, &parts) || !parts)
        return;
    if (want)
        rd_kafka_pause_partitions(w->consumer, parts);
    else
        rd_kafka_resume_partitions(w->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    pthread_mutex_lock(&w->offsets_mu);
    w->partitions_paused = want;
    pthread_mutex_unlock(&w->offsets_mu);
    sq_info(NULL, "%s fetching: %zu requests in flight", want ? "paused" : "resumed", inflight);
}

/* SANDQ_PARTITION_INFLIGHT: a partition with that many unfinished messages
 * stops fetching until one finishes — with 1, the classic one-in-flight-per-
 * partition consumer (strict partition order), the baseline the key-ordered
 * default is measured against (tests/bench/throughput.py). */
static void apply_partition_bound(sq_worker *w)
{
    if (w->cfg.partition_inflight <= 0)
        return;
    sq_offset_commit hold[64], release[64];
    size_t nh, nr;
    pthread_mutex_lock(&w->offsets_mu);
    sq_offsets_holds(w->offsets, (size_t)w->cfg.partition_inflight, hold, &nh, release, &nr, 64);
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
            rd_kafka_resume_partitions(w->consumer, l);
        else
            rd_kafka_pause_partitions(w->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Sleep up to ms, waking early on a stop. */
static void nap(sq_worker *w, int64_t ms)
{
    for (int64_t slept = 0; slept < ms && !atomic_load(&w->stopping); slept += 100) {
        sq_sleep_ms(100);
    }
}

static void run_loop(sq_worker *w)
{
    sq_backoff refence = sq_backoff_make(1000, 30000);
    int64_t last_fence = 0;
    while (!atomic_load(&w->stopping)) {
        /* While fetching is paused nothing wakes the poll but its timeout, and
         * the resume waits for it: keep it short then. */
        bool paused = w->partitions_paused || w->cfg.partition_inflight > 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, paused ? 5 : 100);
        if (m && m->err == RD_KAFKA_RESP_ERR__FATAL) {
            /* e.g. librdkafka fences its own static member after a broker
             * restart. The handle is unusable: make a new one and rejoin.
             * Sandboxes stay up; their partitions come back to us (static
             * membership) within the hand-over grace. */
            char why[512];
            rd_kafka_fatal_error(w->consumer, why, sizeof why);
            sq_error(NULL, "kafka consumer hit a fatal error (%s); re-creating it", why);
            rd_kafka_message_destroy(m);
            sq_kafka_drop_fatal_consumer(w);
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
            while (!atomic_load(&w->stopping) && sq_kafka_consumer_new(w, &err) < 0) {
                sq_error(NULL, "%s; retrying", err.msg);
                sleep(1);
            }
            continue;
        }
        if (m && m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                sq_warn(NULL, "kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else if (m) {
            sq_dispatch(w, m);
        }
        store_offsets(w);
        apply_backpressure(w);
        apply_partition_bound(w);
    }
}

/* SIGTERM: stop fetching, let the actors finish what they hold (bounded by
 * SANDQ_SHUTDOWN_GRACE_MS), store and commit what is complete, leave the
 * group. Sandboxes cannot outlive the worker: each is recorded as failed
 * (reason worker_shutdown) by its actor. */
static void shutdown_worker(sq_worker *w)
{
    if (!w->consumer)
        return;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!rd_kafka_assignment(w->consumer, &parts) && parts) {
        rd_kafka_pause_partitions(w->consumer, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    sq_actor_wake_all(w);
    int64_t deadline = sq_mono_ms() + w->cfg.shutdown_grace_ms;
    pthread_mutex_lock(&w->registry_mu);
    while (w->actors > 0 && sq_mono_ms() < deadline) {
        pthread_mutex_unlock(&w->registry_mu);
        rd_kafka_consumer_poll(w->consumer, 50); /* stay in the group while we drain */
        store_offsets(w);
        pthread_mutex_lock(&w->registry_mu);
    }
    size_t left = w->actors;
    pthread_mutex_unlock(&w->registry_mu);
    if (left)
        sq_warn(NULL, "%zu sandboxes still busy at the shutdown deadline; their requests will be redelivered", left);
    /* Finished requests whose acknowledgements are on their way: their
     * offsets are worth committing before the group is left. */
    while (sq_completer_outstanding(w->completer) > 0 && sq_mono_ms() < deadline) {
        rd_kafka_consumer_poll(w->consumer, 20);
        store_offsets(w);
    }
    store_offsets(w);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "run";
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    sq_log_init("worker", NULL, sq_log_level_from_name(getenv("SANDQ_LOG_LEVEL"), SQ_LOG_INFO));
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate();
    if (strcmp(cmd, "run") != 0) {
        usage(stderr);
        return 2;
    }

    /* One malloc arena per thread (glibc's default, up to 8 per core) lets
     * every actor thread hold its own free memory; a few shared arenas keep
     * the worker's footprint flat as sandboxes come and go. */
    mallopt(M_ARENA_MAX, 4);
    static sq_worker w;
    sq_err err;
    if (sq_worker_config_from_env(&w.cfg, &err) < 0) {
        fprintf(stderr, "sandq-worker: %s\n", err.msg);
        return 2;
    }
    sq_log_init("worker", w.cfg.worker_id, sq_log_level_from_name(w.cfg.log_level, SQ_LOG_INFO));
    the_worker = &w;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a sandboxed command closing its stdin early must not kill us */

    if (start(&w, &err) < 0) {
        sq_error(NULL, "start failed: %s", err.msg);
        atomic_store(&w.stopping, 1);
        return 1;
    }
    sq_info(NULL, "worker %s ready (region %s)", w.cfg.worker_id, w.cfg.region);
    run_loop(&w);
    sq_info(NULL, "shutting down");
    shutdown_worker(&w);
    sq_http_stop();
    sq_webhooks_stop(&w);
    sq_kafka_close_consumer(&w);
    sq_ownership_stop(&w);
    sq_completer_close_history(w.completer);
    sq_writer_stop(w.writer, w.cfg.shutdown_grace_ms);
    sq_kafka_producer_drain(&w, 10000);
    atomic_store(&w.producer_done, 1);
    pthread_join(w.producer_poller, NULL);
    sq_cgroups_cleanup();
    sq_kafka_close(&w);
    sq_completer_stop(w.completer); /* no delivery report can come any more */
    sq_pool_close(&w.pool);
    sq_offsets_free(w.offsets);
    return 0;
}
