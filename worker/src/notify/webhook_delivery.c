/* webhook_delivery.c — see webhook_delivery.h.
 *
 * The loop: claim what is due (bounded by free transfer slots and the
 * per-endpoint cap), start a curl easy handle per delivery, drive them all
 * with one curl multi handle, record each result, wait in curl_multi_poll on
 * the transfers and the PostgreSQL socket (LISTEN sandq_webhooks) together.
 *
 * Host names are resolved off this thread (webhook_resolve.h): a delivery
 * waits for its lookup without holding up the others, and is started when
 * the pool hands the answer back. Such a delivery already counts as in
 * flight (free slots, the per-endpoint cap).
 *
 * SSRF: every address of the answer is classified (webhook_ssrf.h) here, and
 * curl is pinned to the checked addresses with CURLOPT_RESOLVE, so a second
 * DNS answer cannot steer it elsewhere; the open-socket callback checks the
 * address once more before connect(). Proxies from the environment are
 * ignored (they would bypass the check) and redirects are never followed. */
#include "notify/webhook_delivery.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sq/clock.h"
#include "sq/env.h"
#include "sq/log.h"
#include "notify/webhook_outbox.h"
#include "notify/webhook_resolve.h"
#include "notify/webhook_schedule.h"
#include "sq/webhook_notify.h"
#include "sq/webhook_sign.h"
#include "sq/webhook_ssrf.h"

typedef struct xfer {
    sq_wh_claimed row;
    sq_wh_lookup lookup;   /* its host; while h is NULL, with the resolver pool */
    CURL *h;
    struct curl_slist *headers;
    struct curl_slist *resolve;
    int64_t t0;
    int64_t retry_after_ms;
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *next;
} xfer;

struct sq_webhooks {
    char owner[192];
    const char *database_url;
    sq_wh_box box;
    sq_wh_schedule sched;
    bool allow_private;
    int64_t timeout_ms, max_inflight, max_per_endpoint, poll_ms, resolvers;
    sq_wh_resolver *resolver;
    int lease_s;
    PGconn *pg;
    CURLM *multi;
    pthread_t thread;
    bool running;
    atomic_int stop;
    xfer *inflight;
    int n_inflight;
    uint64_t delivered, failed, retried;
    uint64_t claims, claim_ms, record_ms; /* time in PostgreSQL, reported at stop */
};

const sq_wh_box *sq_webhooks_box(const sq_worker *w)
{
    return w->webhooks ? &w->webhooks->box : NULL;
}

/* ---- PostgreSQL connection (its own: the delivery thread never shares w->pg) ---- */

static bool pg_ready(sq_webhooks *h)
{
    if (h->pg && PQstatus(h->pg) == CONNECTION_OK)
        return true;
    if (h->pg)
        PQfinish(h->pg);
    h->pg = PQconnectdb(h->database_url);
    if (PQstatus(h->pg) != CONNECTION_OK) {
        sq_warn(NULL, "webhooks: postgres: %s", PQerrorMessage(h->pg));
        return false;
    }
    PGresult *r = PQexec(h->pg, "LISTEN " SQ_WH_NOTIFY_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        sq_warn(NULL, "webhooks: LISTEN failed: %s", PQerrorMessage(h->pg));
    return ok;
}

/* ---- one transfer ---- */

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p, (void)ud;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = sz * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char v[128];
        size_t vl = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
        memcpy(v, p + 12, vl);
        v[vl] = '\0';
        x->retry_after_ms = sq_wh_retry_after_ms(v, sq_now_ms());
    }
    return len;
}

/* The last line of defence: curl calls this right before it opens a socket
 * to an address; refuse any address the guard does not allow. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    sq_webhooks *h = ud;
    if (purpose != CURLSOCKTYPE_IPCXN || !sq_addr_allowed(sq_addr_classify(&a->addr), h->allow_private))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void addr_text(const struct sockaddr *sa, char *out, size_t n)
{
    const void *src = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                               : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!inet_ntop(sa->sa_family, src, out, (socklen_t)n))
        snprintf(out, n, "?");
}

static uint32_t rnd32(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r)
        r = (uint32_t)sq_mono_ms();
    return r;
}

static void record(sq_webhooks *h, const sq_wh_claimed *c, sq_wh_outcome oc, int status, int64_t latency_ms,
                   const char *error, int64_t delay_ms)
{
    sq_err err;
    int64_t t0 = sq_mono_ms();
    if (!pg_ready(h) || sq_wh_outbox_record(h->pg, h->owner, c, oc, status, latency_ms, error, delay_ms, &err) < 0)
        sq_warn(NULL, "webhooks: could not record delivery %lld (its lease runs out and it is retried): %s",
                (long long)c->id, h->pg ? PQerrorMessage(h->pg) : "no connection");
    h->record_ms += (uint64_t)(sq_mono_ms() - t0);
    static const char *const names[] = {"delivered", "retry", "failed", "endpoint disabled (410)"};
    if (oc == SQ_WH_DELIVERED) {
        h->delivered++;
        sq_debug(NULL, "webhook %s to %s: %d in %lld ms", c->event_id, c->endpoint_id, status, (long long)latency_ms);
    } else {
        if (oc == SQ_WH_RETRY)
            h->retried++;
        else
            h->failed++;
        sq_info(NULL, "webhook %s to %s attempt %d: %s (%s)%s", c->event_id, c->endpoint_id, c->attempts + 1,
                names[oc], error ? error : "", oc == SQ_WH_RETRY ? "; will retry" : "");
    }
}

/* Outcome of a failed attempt under the schedule. */
static void record_failure(sq_webhooks *h, const sq_wh_claimed *c, int status, int64_t latency_ms, const char *error,
                           int64_t retry_after_ms)
{
    int64_t delay = sq_wh_next_delay_ms(&h->sched, c->attempts + 1, retry_after_ms, rnd32());
    record(h, c, delay < 0 ? SQ_WH_FAILED : SQ_WH_RETRY, status, latency_ms, error, delay);
}

static void xfer_free(xfer *x)
{
    if (x->lookup.res)
        freeaddrinfo(x->lookup.res);
    if (x->h)
        curl_easy_cleanup(x->h);
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->resolve);
    sq_wh_claimed_free(&x->row);
    free(x);
}

/* The host and port a URL names (host without the [] of an IPv6 literal),
 * and whether the host is an IP literal. Returns -1 with why when the URL
 * cannot be delivered to (a permanent refusal). */
static int target(const char *url, char *name, size_t nn, char *port, size_t pn, bool *literal, char *why,
                  size_t wn)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *portstr = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) || curl_url_get(u, CURLUPART_PORT, &portstr, CURLU_DEFAULT_PORT)) {
        snprintf(why, wn, "malformed url");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(why, wn, "scheme %s is not http or https", scheme);
        goto out;
    }
    size_t hl = strlen(host);
    bool v6 = host[0] == '[';
    if (v6) /* [v6] */
        snprintf(name, nn, "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(name, nn, "%s", host);
    snprintf(port, pn, "%s", portstr);
    struct in_addr a4;
    struct in6_addr a6;
    *literal = v6 || inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(portstr);
    curl_url_cleanup(u);
    return rc;
}

/* Check the addresses a name resolved to; fill the CURLOPT_RESOLVE entry
 * with those allowed (left empty for an IP literal: curl does not resolve
 * one, nothing to pin). Returns 0, or -1 with why (a permanent refusal). */
static int pin(const sq_webhooks *h, const char *name, const char *port, bool literal, const struct addrinfo *res,
               char *resolve, size_t rn, char *why, size_t wn)
{
    /* Pin curl to every address that passed (it tries them in order, IPv6
     * and IPv4 alike); addresses that failed are never handed to it. */
    char text[INET6_ADDRSTRLEN];
    size_t used = (size_t)snprintf(resolve, rn, "%s:%s:", name, port);
    int allowed = 0;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        if (!sq_addr_allowed(sq_addr_classify(a->ai_addr), h->allow_private))
            continue;
        addr_text(a->ai_addr, text, sizeof text);
        int k = snprintf(resolve + used, rn > used ? rn - used : 0, a->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
                         allowed ? "," : "", text);
        if (k < 0 || used + (size_t)k >= rn)
            break; /* enough addresses */
        used += (size_t)k;
        allowed++;
    }
    if (!allowed) {
        addr_text(res->ai_addr, text, sizeof text);
        sq_addr_class cls = sq_addr_classify(res->ai_addr);
        snprintf(why, wn, "refused: %s resolves to %s, a %s address%s", name, text, sq_addr_class_name(cls),
                 sq_addr_allowed(cls, true) ? " (SANDQ_WEBHOOK_ALLOW_PRIVATE=1 allows it)" : "");
        return -1;
    }
    if (literal)
        resolve[0] = '\0';
    return 0;
}

static int open_keys(sq_webhooks *h, const sq_wh_claimed *c, sq_wh_key keys[2], size_t *n, sq_err *err)
{
    char secret[300];
    *n = 0;
    const char *sealed[] = {c->secret_sealed, c->secret_prev_sealed};
    for (int i = 0; i < 2; i++) {
        if (!sealed[i])
            continue;
        if (sq_wh_box_open(&h->box, c->endpoint_id, sealed[i], secret, sizeof secret, err) < 0 ||
            sq_wh_key_from_secret(secret, &keys[*n], err) < 0) {
            memset(secret, 0, sizeof secret);
            return -1;
        }
        memset(secret, 0, sizeof secret);
        (*n)++;
    }
    return 0;
}

/* Take x out of the in-flight list and free it. */
static void xfer_drop(sq_webhooks *h, xfer *x)
{
    for (xfer **pp = &h->inflight; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    h->n_inflight--;
    xfer_free(x);
}

/* Start x's transfer, its host having resolved to res: check and pin the
 * addresses, sign, hand it to curl. On a refusal its attempt is recorded and
 * x dropped. */
static void launch(sq_webhooks *h, xfer *x, const struct addrinfo *res, bool literal)
{
    char resolve[512], why[512];
    if (pin(h, x->lookup.name, x->lookup.port, literal, res, resolve, sizeof resolve, why, sizeof why) < 0) {
        record(h, &x->row, SQ_WH_FAILED, 0, 0, why, -1);
        xfer_drop(h, x);
        return;
    }
    sq_wh_claimed *row = &x->row;
    sq_wh_key keys[2];
    size_t nkeys;
    sq_err err;
    if (open_keys(h, row, keys, &nkeys, &err) < 0) {
        record_failure(h, row, 0, 0, err.msg, -1);
        xfer_drop(h, x);
        return;
    }
    int64_t ts = sq_now_ms() / 1000;
    size_t blen = strlen(row->payload);
    char sig[SQ_WH_HEADER_MAX], line[SQ_WH_HEADER_MAX + 64];
    sq_wh_signature_header(keys, nkeys, row->event_id, ts, row->payload, blen, sig);
    memset(keys, 0, sizeof keys);

    x->headers = curl_slist_append(x->headers, "Content-Type: application/json");
    x->headers = curl_slist_append(x->headers, "User-Agent: sandq-webhooks/" "0.1");
    x->headers = curl_slist_append(x->headers, "Expect:");
    snprintf(line, sizeof line, "webhook-id: %s", x->row.event_id);
    x->headers = curl_slist_append(x->headers, line);
    snprintf(line, sizeof line, "webhook-timestamp: %lld", (long long)ts);
    x->headers = curl_slist_append(x->headers, line);
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    x->headers = curl_slist_append(x->headers, line);
    if (resolve[0])
        x->resolve = curl_slist_append(NULL, resolve);

    CURL *c = x->h = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, x->row.url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* no proxy from the environment: it would bypass the guard */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->row.payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    if (x->resolve)
        curl_easy_setopt(c, CURLOPT_RESOLVE, x->resolve);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    /* Every delivery is its own connection: cached connections would carry
     * one endpoint's resolved address over to a later delivery's check. */
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    x->t0 = sq_mono_ms();
    curl_multi_add_handle(h->multi, c);
}

/* A claimed row: in flight from here on. An IP literal is started at once;
 * a host name goes to the resolver pool and is started by resolved(). */
static void start(sq_webhooks *h, sq_wh_claimed *row)
{
    xfer *x = calloc(1, sizeof *x);
    if (!x) {
        sq_wh_claimed_free(row);
        return; /* the lease runs out and someone retries */
    }
    x->row = *row;
    memset(row, 0, sizeof *row);
    x->retry_after_ms = -1;
    char why[512];
    bool literal;
    if (target(x->row.url, x->lookup.name, sizeof x->lookup.name, x->lookup.port, sizeof x->lookup.port, &literal,
               why, sizeof why) < 0) {
        record(h, &x->row, SQ_WH_FAILED, 0, 0, why, -1);
        xfer_free(x);
        return;
    }
    x->next = h->inflight;
    h->inflight = x;
    h->n_inflight++;
    if (!literal) {
        sq_wh_resolver_submit(h->resolver, &x->lookup);
        return;
    }
    /* A numeric host: getaddrinfo only parses it, nothing to wait for. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    int g = getaddrinfo(x->lookup.name, x->lookup.port, &hints, &x->lookup.res);
    if (g != 0) {
        snprintf(why, sizeof why, "bad address %s: %s", x->lookup.name, gai_strerror(g));
        record(h, &x->row, SQ_WH_FAILED, 0, 0, why, -1);
        xfer_drop(h, x);
        return;
    }
    launch(h, x, x->lookup.res, true);
}

/* Lookups the pool has finished: start their transfers (or record why not). */
static void resolved(sq_webhooks *h, bool *freed)
{
    for (sq_wh_lookup *l = sq_wh_resolver_take(h->resolver), *next; l; l = next) {
        next = l->next;
        xfer *x = (xfer *)((char *)l - offsetof(xfer, lookup));
        if (l->gai != 0) {
            char why[512];
            snprintf(why, sizeof why, "cannot resolve %s: %s", l->name, gai_strerror(l->gai));
            record_failure(h, &x->row, 0, 0, why, -1);
            xfer_drop(h, x);
            *freed = true;
            continue;
        }
        int before = h->n_inflight;
        launch(h, x, l->res, false);
        if (h->n_inflight < before)
            *freed = true; /* refused: its slot is free again */
    }
}

static void wake_delivery(void *ud)
{
    curl_multi_wakeup(((sq_webhooks *)ud)->multi);
}

static void finish(sq_webhooks *h, xfer *x, CURLcode res)
{
    int64_t latency = sq_mono_ms() - x->t0;
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    char why[CURL_ERROR_SIZE + 32];
    if (res != CURLE_OK) {
        snprintf(why, sizeof why, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
        record_failure(h, &x->row, (int)code, latency, why, -1);
    } else if (code >= 200 && code < 300) {
        record(h, &x->row, SQ_WH_DELIVERED, (int)code, latency, NULL, -1);
    } else if (code == 410) {
        record(h, &x->row, SQ_WH_GONE, 410, latency, "receiver answered 410 Gone: endpoint disabled", -1);
    } else {
        snprintf(why, sizeof why, "HTTP %ld", code);
        record_failure(h, &x->row, (int)code, latency, why, x->retry_after_ms);
    }
}

static void reap(sq_webhooks *h, bool *freed)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode res = m->data.result;
        curl_multi_remove_handle(h->multi, m->easy_handle);
        finish(h, x, res);
        xfer_drop(h, x);
        *freed = true;
    }
}

static int inflight_for(const sq_webhooks *h, const char *endpoint_id)
{
    int n = 0;
    for (const xfer *x = h->inflight; x; x = x->next)
        n += strcmp(x->row.endpoint_id, endpoint_id) == 0;
    return n;
}

/* Claim what is due and start it. Returns the number of rows claimed. */
static int claim(sq_webhooks *h)
{
    int free_slots = (int)h->max_inflight - h->n_inflight;
    if (free_slots <= 0)
        return 0;
    const char *skip[256];
    int nskip = 0;
    for (const xfer *x = h->inflight; x && nskip < 256; x = x->next) {
        bool seen = false;
        for (int i = 0; i < nskip && !seen; i++)
            seen = strcmp(skip[i], x->row.endpoint_id) == 0;
        if (!seen && inflight_for(h, x->row.endpoint_id) >= h->max_per_endpoint)
            skip[nskip++] = x->row.endpoint_id;
    }
    sq_wh_claimed *rows;
    int n;
    sq_err err;
    int64_t t0 = sq_mono_ms();
    int crc = sq_wh_outbox_claim(h->pg, h->owner, free_slots, (int)h->max_per_endpoint, skip, nskip,
                                 h->lease_s, &rows, &n, &err);
    h->claims++;
    h->claim_ms += (uint64_t)(sq_mono_ms() - t0);
    if (crc < 0) {
        sq_warn(NULL, "webhooks: claim failed: %s", err.msg);
        return 0;
    }
    int64_t *back = n ? calloc((size_t)n, sizeof *back) : NULL;
    int nback = 0;
    for (int i = 0; i < n; i++) {
        if (back && inflight_for(h, rows[i].endpoint_id) >= h->max_per_endpoint) {
            back[nback++] = rows[i].id; /* over this endpoint's cap: hand it back */
            sq_wh_claimed_free(&rows[i]);
            continue;
        }
        start(h, &rows[i]);
    }
    if (nback && sq_wh_outbox_release(h->pg, h->owner, back, nback, &err) < 0)
        sq_warn(NULL, "webhooks: release failed (leases run out instead): %s", err.msg);
    free(back);
    free(rows);
    return n - nback;
}

static void *run(void *arg)
{
    sq_webhooks *h = arg;
    bool want = true;
    int64_t next_poll = 0, backoff_until = 0;
    while (!atomic_load(&h->stop)) {
        int64_t now = sq_mono_ms();
        bool pg_ok = now >= backoff_until && pg_ready(h);
        if (!pg_ok && now >= backoff_until)
            backoff_until = now + 1000;
        if (pg_ok && (want || now >= next_poll)) {
            want = false;
            next_poll = now + h->poll_ms;
            if (claim(h) > 0 && h->n_inflight < h->max_inflight)
                want = true; /* there may be more due rows */
        }
        bool freed = false;
        resolved(h, &freed);
        int running = 0;
        curl_multi_perform(h->multi, &running);
        reap(h, &freed);
        /* Claim again when a batch's worth of slots is free (or none is busy),
         * not after every single completion: each claim scans the due rows. */
        if (freed && (h->n_inflight == 0 || h->max_inflight - h->n_inflight >= (h->max_inflight + 3) / 4))
            want = true;
        /* Notifications that arrived while a claim or record ran are already
         * buffered by libpq: look before sleeping on the socket. */
        PGnotify *early;
        while (pg_ok && (early = PQnotifies(h->pg))) {
            PQfreemem(early);
            want = true;
        }
        if (want && pg_ok)
            continue;
        struct curl_waitfd wfd = {.fd = pg_ok ? PQsocket(h->pg) : -1, .events = CURL_WAIT_POLLIN};
        int64_t wait = next_poll - sq_mono_ms();
        wait = wait < 0 ? 0 : wait > 1000 ? 1000 : wait;
        curl_multi_poll(h->multi, wfd.fd >= 0 ? &wfd : NULL, wfd.fd >= 0 ? 1 : 0, (int)wait, NULL);
        if (pg_ok && PQconsumeInput(h->pg)) {
            PGnotify *nt;
            while ((nt = PQnotifies(h->pg))) {
                PQfreemem(nt);
                want = true;
            }
        }
    }
    /* Stopping: hand what is in flight back at once rather than waiting out the
     * leases. The pool first, so that no lookup still points into an xfer. */
    sq_wh_resolver_stop(h->resolver);
    h->resolver = NULL;
    int64_t ids[512];
    int n = 0;
    while (h->inflight) {
        xfer *x = h->inflight;
        h->inflight = x->next;
        if (x->h)
            curl_multi_remove_handle(h->multi, x->h);
        if (n < 512)
            ids[n++] = x->row.id;
        xfer_free(x);
    }
    h->n_inflight = 0;
    sq_err err;
    if (n && h->pg && sq_wh_outbox_release(h->pg, h->owner, ids, n, &err) < 0)
        sq_warn(NULL, "webhooks: release at stop failed: %s", err.msg);
    sq_info(NULL,
            "webhooks: stopped (%llu delivered, %llu retried, %llu failed; %llu claims in %llu ms, records in %llu ms)",
            (unsigned long long)h->delivered, (unsigned long long)h->retried, (unsigned long long)h->failed,
            (unsigned long long)h->claims, (unsigned long long)h->claim_ms, (unsigned long long)h->record_ms);
    return NULL;
}

int sq_webhooks_start(sq_worker *w, sq_err *err)
{
    sq_webhooks *h = calloc(1, sizeof *h);
    if (!h)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    const char *sched = sq_env_str("SANDQ_WEBHOOK_SCHEDULE", NULL);
    if (sq_wh_box_init(&h->box, sq_env_str("SANDQ_WEBHOOK_SECRET_KEY", NULL), err) < 0 ||
        (sched ? sq_wh_schedule_parse(sched, &h->sched, err) : (sq_wh_schedule_default(&h->sched), 0)) < 0 ||
        sq_env_int("SANDQ_WEBHOOK_TIMEOUT_MS", 15000, 100, 120000, &h->timeout_ms, err) < 0 ||
        sq_env_int("SANDQ_WEBHOOK_MAX_INFLIGHT", 64, 1, 4096, &h->max_inflight, err) < 0 ||
        sq_env_int("SANDQ_WEBHOOK_MAX_PER_ENDPOINT", 8, 1, 1024, &h->max_per_endpoint, err) < 0 ||
        sq_env_int("SANDQ_WEBHOOK_POLL_MS", 1000, 10, 60000, &h->poll_ms, err) < 0 ||
        sq_env_int("SANDQ_WEBHOOK_RESOLVERS", 4, 1, 64, &h->resolvers, err) < 0) {
        free(h);
        return -1;
    }
    h->allow_private = sq_env_bool("SANDQ_WEBHOOK_ALLOW_PRIVATE", false);
    h->lease_s = (int)(h->timeout_ms / 1000) * 2 + 5;
    h->database_url = w->cfg.conn.database_url;
    snprintf(h->owner, sizeof h->owner, "%s:%d:%lld", w->cfg.worker_id, (int)getpid(), (long long)sq_now_ms());
    w->webhooks = h;
    if (!h->box.has_key)
        sq_warn(NULL, "SANDQ_WEBHOOK_SECRET_KEY is not set: webhook secrets are stored in PostgreSQL unencrypted");
    if (h->allow_private)
        sq_warn(NULL, "SANDQ_WEBHOOK_ALLOW_PRIVATE=1: webhooks may reach loopback and private addresses");
    if (!sq_env_bool("SANDQ_WEBHOOKS", true)) {
        sq_info(NULL, "webhook delivery is off on this worker (SANDQ_WEBHOOKS=0)");
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h->multi = curl_multi_init();
    if (!h->multi)
        return sq_err_set(err, SQ_INTERNAL, "cannot start the webhook delivery thread");
    if (sq_wh_resolver_start(&h->resolver, (int)h->resolvers, sq_env_str("SANDQ_WEBHOOK_DNS_SERVER", NULL),
                             wake_delivery, h, err) < 0)
        return -1;
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        sq_wh_resolver_stop(h->resolver);
        h->resolver = NULL;
        return sq_err_set(err, SQ_INTERNAL, "cannot start the webhook delivery thread");
    }
    h->running = true;
    return 0;
}

void sq_webhooks_stop(sq_worker *w)
{
    sq_webhooks *h = w->webhooks;
    if (!h)
        return;
    if (h->running) {
        atomic_store(&h->stop, 1);
        curl_multi_wakeup(h->multi);
        pthread_join(h->thread, NULL);
    }
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->pg)
        PQfinish(h->pg);
    bool was_running = h->running;
    memset(&h->box, 0, sizeof h->box);
    w->webhooks = NULL;
    free(h);
    if (was_running)
        curl_global_cleanup();
}
