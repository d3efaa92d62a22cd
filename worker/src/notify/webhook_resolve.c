/* webhook_resolve.c — see webhook_resolve.h.
 *
 * A mutex-guarded queue in, a list out. Each thread takes one lookup at a
 * time, so a slow name holds one thread and the others go on; with every
 * thread stuck on slow names, lookups wait in the queue while the delivery
 * thread still runs the transfers it has. */
#include "notify/webhook_resolve.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sq_wh_resolver {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sq_wh_lookup *queue, **queue_tail; /* FIFO: names are looked up in claim order */
    sq_wh_lookup *done;
    bool stop;
    bool use_server;
    struct sockaddr_in server;
    void (*wake)(void *);
    void *wake_ud;
    int nthreads;
    pthread_t threads[];
};

int sq_wh_dns_server_parse(const char *s, struct sockaddr_in *out, sq_err *err)
{
    char host[64];
    const char *colon = strchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons(53);
    if (hl == 0 || hl >= sizeof host)
        goto bad;
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
        goto bad;
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || port < 1 || port > 65535)
            goto bad;
        out->sin_port = htons((uint16_t)port);
    }
    return 0;
bad:
    return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_WEBHOOK_DNS_SERVER",
                        "SANDQ_WEBHOOK_DNS_SERVER is an IPv4 address with an optional port (127.0.0.1:5353)");
}

static void *resolve_loop(void *arg)
{
    sq_wh_resolver *r = arg;
    if (r->use_server) {
        /* glibc keeps the resolver state (_res) per thread, and getaddrinfo's
         * DNS lookups honour changes an application made to it after
         * res_init: this thread asks only the configured server. */
        res_init();
        _res.nscount = 1;
        _res.nsaddr_list[0] = r->server;
    }
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stop && !r->queue)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        sq_wh_lookup *l = r->queue;
        r->queue = l->next;
        if (!r->queue)
            r->queue_tail = &r->queue;
        pthread_mutex_unlock(&r->mu);

        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        l->res = NULL;
        l->gai = getaddrinfo(l->name, l->port, &hints, &l->res);

        pthread_mutex_lock(&r->mu);
        l->next = r->done;
        r->done = l;
        if (r->wake)
            r->wake(r->wake_ud);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int sq_wh_resolver_start(sq_wh_resolver **out, int threads, const char *dns_server, void (*wake)(void *),
                         void *wake_ud, sq_err *err)
{
    *out = NULL;
    sq_wh_resolver *r = calloc(1, sizeof *r + (size_t)threads * sizeof(pthread_t));
    if (!r)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    if (dns_server && *dns_server) {
        if (sq_wh_dns_server_parse(dns_server, &r->server, err) < 0) {
            free(r);
            return -1;
        }
        r->use_server = true;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->queue_tail = &r->queue;
    r->wake = wake;
    r->wake_ud = wake_ud;
    for (; r->nthreads < threads; r->nthreads++)
        if (pthread_create(&r->threads[r->nthreads], NULL, resolve_loop, r) != 0)
            break;
    if (r->nthreads == 0) {
        sq_wh_resolver_stop(r);
        return sq_err_set(err, SQ_INTERNAL, "cannot start a webhook resolver thread");
    }
    *out = r;
    return 0;
}

void sq_wh_resolver_submit(sq_wh_resolver *r, sq_wh_lookup *l)
{
    l->next = NULL;
    l->res = NULL;
    l->gai = 0;
    pthread_mutex_lock(&r->mu);
    *r->queue_tail = l;
    r->queue_tail = &l->next;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

sq_wh_lookup *sq_wh_resolver_take(sq_wh_resolver *r)
{
    pthread_mutex_lock(&r->mu);
    sq_wh_lookup *l = r->done;
    r->done = NULL;
    pthread_mutex_unlock(&r->mu);
    return l;
}

void sq_wh_resolver_stop(sq_wh_resolver *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    r->queue = NULL;
    r->queue_tail = &r->queue;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->nthreads; i++)
        pthread_join(r->threads[i], NULL);
    /* Finished lookups not taken: their results are ours to free; the
     * lookups themselves are the caller's. */
    for (sq_wh_lookup *l = r->done; l; l = l->next)
        if (l->res) {
            freeaddrinfo(l->res);
            l->res = NULL;
        }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
