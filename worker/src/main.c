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
#include "caps/browser/recording.h"
#include "caps/documents/convert.h"
#include "lifecycle/actor.h"
#include "pipeline/completer.h"
#include "pipeline/consumer.h"
#include "pipeline/forward.h"
#include "http.h"
#include "store/writer.h"
#include "pipeline/ownership.h"
#include "pipeline/kafka_conf.h"
#include "notify/webhook_delivery.h"
#include "artifacts/store.h"
#include "store/migrations.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "lifecycle/workspace_sweep.h"
#include "sandbox/disk.h"
#include "sq/clock.h"
#include "sq/fsutil.h"
#include "sq/log.h"

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

/* Where internet mode's DNS goes: without SANDQ_SANDBOX_DNS slirp4netns
 * relays 10.0.2.3 to the host's first nameserver, a loopback service
 * included (docs/security.md, "DNS"), which deserves a warning. */
static void log_sandbox_dns(const sq_worker_config *cfg)
{
    if (cfg->sandbox_dns && cfg->sandbox_dns[strspn(cfg->sandbox_dns, ", \t\n")]) {
        sq_info(NULL, "internet mode: sandbox DNS goes to %s only (SANDQ_SANDBOX_DNS)", cfg->sandbox_dns);
        return;
    }
    char line[256], ns[64] = "";
    FILE *f = fopen("/etc/resolv.conf", "re");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, " nameserver %63s", ns) == 1)
            break;
    if (f)
        fclose(f);
    if (strncmp(ns, "127.", 4) == 0 || strcmp(ns, "::1") == 0)
        sq_warn(NULL,
                "internet mode: sandbox DNS is relayed to the host's resolver %s, a loopback service; set "
                "SANDQ_SANDBOX_DNS to resolvers meant for sandboxes (docs/security.md, DNS)",
                ns);
    else
        sq_info(NULL, "internet mode: sandbox DNS is relayed to the host's resolver %s (SANDQ_SANDBOX_DNS unset)",
                ns[0] ? ns : "(none in /etc/resolv.conf)");
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
    { /* issue 15: recording.browser is offered only when ffmpeg is there */
        char why[600];
        const char *bin = sq_brec_detect(why, sizeof why);
        if (bin)
            sq_info(NULL, "browser recording: available (%s)", bin);
        else
            sq_warn(NULL, "browser recording: unavailable, creates with recording.browser are rejected: %s", why);
    }
    { /* issue 13: the artifact store (docs/artifacts.md); a bad setting stops the start */
        static sq_art_store store;
        if (sq_art_store_from_env(&store, w->cfg.workspace_root, w->cfg.http_addr, w->cfg.http_port, err) < 0)
            return -1;
        w->artifacts = &store;
        sq_info(NULL, "artifacts: store %s", store.url);
    }
    if (w->cfg.allow_internet)
        log_sandbox_dns(&w->cfg);
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
    if (sq_ownership_start(w, err) < 0 || sq_forward_topic_create(w, err) < 0 || sq_consumers_new(w, err) < 0 || sq_consumers_start(w, err) < 0 ||
        sq_webhooks_start(w, err) < 0)
        return -1;
    int port = sq_http_start(w, err);
    if (port < 0)
        return -1;
    /* issue 13: worker-served download URLs point at this endpoint unless
     * SANDQ_ARTIFACT_URL_BASE says where it is reached from outside. */
    if (!getenv("SANDQ_ARTIFACT_URL_BASE"))
        snprintf(w->artifacts->url_base, sizeof w->artifacts->url_base, "http://%s:%d", w->cfg.http_addr, port);
    return 0;
}

/* Until SIGTERM: the consumers' threads (pipeline/consumer.h) do the work. */
static void wait_for_stop(sq_worker *w)
{
    while (!atomic_load(&w->stopping))
        sq_sleep_ms(100);
}

/* SIGTERM: each consumer stops fetching and stays in its group while the
 * actors finish what they hold (bounded by SANDQ_SHUTDOWN_GRACE_MS), storing
 * what completes; then the groups are left. Sandboxes cannot outlive the
 * worker: each is recorded as failed (reason worker_shutdown) by its actor. */
static void shutdown_worker(sq_worker *w)
{
    sq_actor_wake_all(w);
    sq_consumers_join(w);
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
    wait_for_stop(&w);
    atomic_store(&w.drain_at, sq_mono_ms());
    sq_info(NULL, "shutting down: running tasks have %lld ms to finish, then every sandbox is persisted",
            (long long)w.cfg.drain_task_grace_ms);
    shutdown_worker(&w);
    sq_http_stop();
    sq_webhooks_stop(&w);
    sq_consumers_close(&w);
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
