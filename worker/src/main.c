/* main.c — sandq-worker: `run` (the default) consumes requests and runs
 * sandboxes; `migrate` applies the PostgreSQL migrations and exits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "kafka_conf.h"
#include "store/migrations.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "workspace_sweep.h"
#include "sq/log.h"

static sq_worker *the_worker;

static void on_signal(int sig)
{
    (void)sig;
    if (the_worker)
        the_worker->stopping = 1;
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

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(buf, 0711) < 0 && errno != EEXIST ? -1 : 0;
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

static int start(sq_worker *w, sq_err *err)
{
    if (mkdir_p(w->cfg.workspace_root) < 0)
        return sq_err_errno(err, "mkdir %s", w->cfg.workspace_root);
    if (mkdir_p(w->cfg.run_dir) < 0)
        return sq_err_errno(err, "mkdir %s", w->cfg.run_dir);
    sq_workspace_sweep(w); /* what a killed worker left: mounts, directories */
    sq_topic_events(w->cfg.conn.topic_prefix, w->topic_events);
    sq_topic_dlq(w->cfg.conn.topic_prefix, w->topic_dlq);
    if (sq_redis_connect(w, err) < 0 || sq_pg_connect(w, err) < 0 || sq_kafka_producer_new(w, err) < 0 ||
        sq_kafka_consumer_new(w, err) < 0)
        return -1;
    return 0;
}

static void run_loop(sq_worker *w)
{
    while (!w->stopping) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, 200);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                sq_warn(NULL, "kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (sq_dispatch(w, m) == 0) {
            /* Store offset+1 only now that the effects are durable. */
            rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(offs, rd_kafka_topic_name(m->rkt), m->partition)->offset =
                m->offset + 1;
            rd_kafka_offsets_store(w->consumer, offs);
            rd_kafka_topic_partition_list_destroy(offs);
        } else {
            /* Not durable: rewind so the same message is consumed again after
             * a pause, instead of skipping it. */
            rd_kafka_topic_partition_t tp = {.topic = (char *)rd_kafka_topic_name(m->rkt),
                                             .partition = m->partition};
            (void)tp;
            rd_kafka_seek(m->rkt, m->partition, m->offset, 5000);
            sleep(1);
        }
        rd_kafka_message_destroy(m);
    }
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
        sq_kafka_close(&w);
        return 1;
    }
    sq_info(NULL, "worker %s ready (region %s)", w.cfg.worker_id, w.cfg.region);
    run_loop(&w);
    sq_info(NULL, "shutting down");
    sq_dispatch_fail_all(&w, "worker_shutdown", "the worker shut down; its sandboxes cannot outlive it");
    sq_kafka_close(&w);
    sq_redis_close(&w);
    sq_pg_close(&w);
    return 0;
}
