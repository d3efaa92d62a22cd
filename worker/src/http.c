/* http.c — see http.h. MHD runs its own thread; handlers only read shared
 * state under the locks that guard it. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "artifacts/serve.h"
#include "preview/preview_http.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "store/writer.h"
#include "sq/log.h"

static struct MHD_Daemon *daemon_handle;

/* The outbox is shared, so this is the fleet's backlog, not this worker's:
 * alert on it from any one worker. An index on (state) keeps it cheap. */
static long long webhook_backlog(sq_worker *w)
{
    long long n = -1;
    sq_err err;
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    if (sq_pool_pg(&w->pool, c, &err) == 0) {
        PGresult *r = PQexec(c->pg, "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    sq_pool_release(&w->pool, c);
    return n;
}

static void collect_gauges(sq_worker *w, sq_metrics_gauges *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_lock(&w->registry_mu);
    for (size_t i = 0; i < sizeof w->buckets / sizeof w->buckets[0]; i++)
        for (sq_live_sandbox *s = w->buckets[i]; s; s = s->next)
            if (s->state > 0 && s->state < SQ_STATE__COUNT)
                g->sandboxes_by_state[s->state]++;
    pthread_mutex_unlock(&w->registry_mu);
    pthread_mutex_lock(&w->offsets_mu);
    g->inflight_requests = sq_offsets_inflight(w->offsets);
    for (size_t i = 0; i < w->n_consumers; i++)
        g->partitions_paused |= w->consumers[i].paused;
    pthread_mutex_unlock(&w->offsets_mu);
    g->history_queue_depth = sq_writer_depth(w->writer);
    g->webhook_backlog = webhook_backlog(w);

    /* Per requests topic (each in its own group): how many partitions, and
     * the lag from librdkafka's cached watermarks and our position — no broker
     * round trip on a scrape. The handle is read under its lock: the
     * consumer's thread replaces it after a fatal error. */
    for (size_t k = 0; k < w->n_consumers && k < sizeof g->assigned / sizeof g->assigned[0]; k++) {
        sq_consumer *c = &w->consumers[k];
        snprintf(g->assigned[k].topic, sizeof g->assigned[k].topic, "%s", c->topic);
        snprintf(g->assigned[k].group, sizeof g->assigned[k].group, "%s", c->group);
        g->assigned_count = k + 1;
        pthread_mutex_lock(&c->handle_mu);
        rd_kafka_topic_partition_list_t *parts = NULL;
        if (!c->rk || rd_kafka_assignment(c->rk, &parts) || !parts) {
            pthread_mutex_unlock(&c->handle_mu);
            continue;
        }
        g->assigned[k].partitions = parts->cnt;
        rd_kafka_position(c->rk, parts);
        for (int i = 0; i < parts->cnt && g->lag_count < sizeof g->lag / sizeof g->lag[0]; i++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            if (rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) || hi < 0)
                continue;
            int64_t pos = p->offset >= 0 ? p->offset : lo;
            snprintf(g->lag[g->lag_count].topic, sizeof g->lag[0].topic, "%s", p->topic);
            g->lag[g->lag_count].partition = p->partition;
            g->lag[g->lag_count].lag = hi > pos ? hi - pos : 0;
            g->lag_count++;
        }
        pthread_mutex_unlock(&c->handle_mu);
        rd_kafka_topic_partition_list_destroy(parts);
    }
}

static bool kafka_reachable(sq_worker *w, char *why, size_t n)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(w->producer, 0, NULL, &md, 2000);
    if (e) {
        snprintf(why, n, "kafka: %s", rd_kafka_err2str(e));
        return false;
    }
    rd_kafka_metadata_destroy(md);
    /* Every requests topic's group joined (pipeline/consumer.h). */
    for (size_t i = 0; i < w->n_consumers; i++) {
        sq_consumer *c = &w->consumers[i];
        pthread_mutex_lock(&c->handle_mu);
        char *member = c->rk ? rd_kafka_memberid(c->rk) : NULL;
        pthread_mutex_unlock(&c->handle_mu);
        bool joined = member && *member;
        free(member);
        if (!joined) {
            snprintf(why, n, "kafka: consumer group %s not joined yet", c->group);
            return false;
        }
    }
    return true;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    sq_worker *w = cls;
    /* issue 13: signed artifact downloads (artifacts/serve.h); HEAD too */
    if (strncmp(url, "/artifacts/", 11) == 0 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
        return sq_art_serve(w, c, url);
    if (sq_preview_http_match(url)) /* issue 14: the live preview */
        return sq_preview_http(w, c, url, method, upload, upload_size, state);
    if (strcmp(method, "GET") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n", false);
    if (strcmp(url, "/healthz") == 0)
        return reply(c, 200, "text/plain", "ok\n", false);
    if (strcmp(url, "/readyz") == 0) {
        char why[256] = "";
        sq_err err;
        bool known;
        bool ok = kafka_reachable(w, why, sizeof why);
        if (ok && !sq_redis_ping(w)) {
            ok = false;
            snprintf(why, sizeof why, "redis: no answer");
        }
        if (ok && sq_pg_request_known(w, "req_00000000000000000000000000", &known, &err) < 0) {
            ok = false;
            snprintf(why, sizeof why, "%s", err.msg);
        }
        if (atomic_load(&w->stopping)) {
            ok = false;
            snprintf(why, sizeof why, "shutting down");
        }
        char body[320];
        snprintf(body, sizeof body, "%s\n", ok ? "ready" : why);
        return reply(c, ok ? 200 : 503, "text/plain", body, false);
    }
    if (strcmp(url, "/metrics") == 0) {
        sq_metrics_gauges *g = malloc(sizeof *g);
        if (!g)
            return reply(c, 500, "text/plain", "out of memory\n", false);
        collect_gauges(w, g);
        char *text = sq_metrics_render(g);
        free(g);
        if (!text)
            return reply(c, 500, "text/plain", "out of memory\n", false);
        return reply(c, 200, "text/plain; version=0.0.4", text, true);
    }
    return reply(c, 404, "text/plain", "not found\n", false);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    sq_preview_http_done(state);
}

int sq_http_start(sq_worker *w, sq_err *err)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->cfg.http_port)};
    if (inet_pton(AF_INET, w->cfg.http_addr, &addr.sin_addr) != 1)
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_HTTP_ADDR", "SANDQ_HTTP_ADDR must be an IPv4 address");
    /* Thread per connection: a preview stream waits for its next frame on a
     * condition variable in its own thread (in internal-polling mode a
     * content reader that has nothing yet would make the daemon spin). */
    daemon_handle = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                                     (uint16_t)w->cfg.http_port, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
                                     &addr, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 256u,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!daemon_handle)
        return sq_err_set(err, SQ_INTERNAL, "http: cannot listen on %s:%lld", w->cfg.http_addr,
                          (long long)w->cfg.http_port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : (int)w->cfg.http_port;
    sq_info(NULL, "http listening on %s:%d (/healthz /readyz /metrics /preview/)", w->cfg.http_addr, port);
    if (sq_preview_http_init(w, port, err) < 0) {
        sq_http_stop();
        return -1;
    }
    return port;
}

void sq_http_stop(void)
{
    sq_preview_http_stopping(); /* MHD joins every connection's thread: end the streams first */
    if (daemon_handle)
        MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}
