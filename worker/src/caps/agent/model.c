/* model.c — see model.h. */
#include "caps/agent/model.h"

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "caps/agent/rules.h"
#include "caps/agent/sse.h"
#include "sq/clock.h"
#include "sq/webhook_ssrf.h"

#define ERROR_BODY_MAX (64u << 10)
#define FULL_BODY_MAX (8u << 20)

typedef struct xfer {
    const sq_model_req *req;
    sq_model_res *res;
    bool sse_mode, mode_known;
    sq_sse sse;
    char *body;
    size_t body_len;
    bool overflow;
    bool blocked;
    char blocked_why[160];
    char retry_after[64];
} xfer;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int sq_model_check_url(const char *base, bool allow_private, char *why, size_t why_size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, base, 0) || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0)) {
        snprintf(why, why_size, "OPENROUTER_BASE_URL is not a URL");
    } else if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
        snprintf(why, why_size, "OPENROUTER_BASE_URL must be http or https, not %s", scheme);
    } else if (strcasecmp(scheme, "http") == 0 && !allow_private) {
        snprintf(why, why_size,
                 "OPENROUTER_BASE_URL must be https (the API key would travel in clear; plain http is only for "
                 "private endpoints a worker allows with SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS=1)");
    } else {
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Right before connect(): the guard (see model.h). */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    xfer *x = ud;
    sq_addr_class c = sq_addr_classify(&a->addr);
    if (purpose != CURLSOCKTYPE_IPCXN || !sq_addr_allowed(c, x->req->allow_private)) {
        x->blocked = true;
        snprintf(x->blocked_why, sizeof x->blocked_why,
                 "refused: the model endpoint resolves to a %s address%s", sq_addr_class_name(c),
                 sq_addr_allowed(c, true) ? " (a worker allows private endpoints with "
                                            "SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS=1)"
                                          : "");
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static int on_event(void *user, const char *data, size_t len)
{
    xfer *x = user;
    return sq_chat_apply_chunk(&x->res->reply, data, len);
}

static size_t on_header(char *b, size_t size, size_t n, void *user)
{
    xfer *x = user;
    size_t len = size * n;
    static const char ra[] = "retry-after:";
    if (len > sizeof ra - 1 && strncasecmp(b, ra, sizeof ra - 1) == 0) {
        size_t v = len - (sizeof ra - 1);
        if (v >= sizeof x->retry_after)
            v = sizeof x->retry_after - 1;
        memcpy(x->retry_after, b + sizeof ra - 1, v);
        x->retry_after[v] = '\0';
    }
    return len;
}

static size_t on_body(char *b, size_t size, size_t n, void *user)
{
    xfer *x = user;
    size_t len = size * n;
    if (x->sse_mode) {
        /* A stream that breaks a bound or carries an error stops here. */
        if (sq_sse_feed(&x->sse, b, len, on_event, x) < 0)
            return 0;
        return len;
    }
    size_t cap = x->res->status >= 200 && x->res->status < 300 ? FULL_BODY_MAX : ERROR_BODY_MAX;
    size_t take = x->body_len + len > cap ? cap - x->body_len : len;
    if (take < len)
        x->overflow = true;
    if (take) {
        char *nb = realloc(x->body, x->body_len + take + 1);
        if (!nb)
            return 0;
        memcpy(nb + x->body_len, b, take);
        x->body = nb;
        x->body_len += take;
        x->body[x->body_len] = '\0';
    }
    /* An error body past its cap is not needed whole: stop reading it. */
    return x->overflow && cap == ERROR_BODY_MAX ? 0 : len;
}

typedef struct { CURL *h; xfer *x; } body_ctx;

/* The status and content type are known once the headers are in: decide
 * how to read the body before its first byte. */
static size_t on_body_first(char *b, size_t size, size_t n, void *user)
{
    body_ctx *c = user;
    xfer *x = c->x;
    if (!x->mode_known) {
        long status = 0;
        char *ct = NULL;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c->h, CURLINFO_CONTENT_TYPE, &ct);
        x->res->status = status;
        x->sse_mode = status >= 200 && status < 300 && ct && strncasecmp(ct, "text/event-stream", 17) == 0;
        x->mode_known = true;
    }
    return on_body(b, size, n, x);
}

static void drain(int fd)
{
    uint64_t v;
    if (fd >= 0 && read(fd, &v, sizeof v) < 0) {
        /* EAGAIN: nothing to drain */
    }
}

static void finish_body(xfer *x)
{
    sq_model_res *res = x->res;
    if (res->status < 200 || res->status >= 300) {
        int code;
        char msg[400];
        sq_chat_error_text(x->body, x->body_len, msg, sizeof msg, &code);
        snprintf(res->error, sizeof res->error, "HTTP %ld from the model endpoint: %s", res->status,
                 msg[0] ? msg : "(no body)");
        return;
    }
    if (x->sse_mode) {
        if (!res->reply.is_error && sq_sse_finish(&x->sse, on_event, x) < 0 && !res->reply.is_error) {
            res->reply.is_error = true;
            snprintf(res->reply.error, sizeof res->reply.error, "the model's stream could not be read");
        }
        if (x->sse.too_large && !res->reply.is_error) {
            res->reply.is_error = true;
            snprintf(res->reply.error, sizeof res->reply.error, "an event of the model's stream exceeds 4 MiB");
        }
        return;
    }
    if (x->overflow) {
        res->reply.is_error = true;
        snprintf(res->reply.error, sizeof res->reply.error, "the model's answer exceeds 8 MiB");
        return;
    }
    sq_chat_apply_full(&res->reply, x->body ? x->body : "", x->body_len);
}

void sq_model_call(const sq_model_req *req, sq_model_res *res)
{
    pthread_once(&curl_once, curl_init);
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    xfer x = {.req = req, .res = res};
    sq_sse_init(&x.sse);
    CURL *h = curl_easy_init();
    CURLM *m = curl_multi_init();
    struct curl_slist *hd = NULL;
    char auth[1200];
    if (!h || !m || strlen(req->api_key) > 1000) {
        res->outcome = SQ_MODEL_NET_ERROR;
        snprintf(res->error, sizeof res->error, "cannot start the model request");
        goto out;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", req->api_key);
    hd = curl_slist_append(hd, auth);
    explicit_bzero(auth, sizeof auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Accept: text/event-stream, application/json");
    hd = curl_slist_append(hd, "User-Agent: sandq-agent/0.1");
    hd = curl_slist_append(hd, "X-Title: sandq");
    hd = curl_slist_append(hd, "Expect:");
    body_ctx bc = {.h = h, .x = &x};
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* a proxy from the environment would bypass the guard */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    /* A stream that stalls (no byte for 5 minutes) is a failed call, retried,
     * rather than one that waits for the task's whole timeout. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 300L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body_first);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &bc);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_multi_add_handle(m, h);

    int running = 1;
    CURLcode done = CURLE_OK;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE)
                done = msg->data.result;
        if (!running)
            break;
        int64_t now = sq_mono_ms();
        if (now >= req->deadline) {
            res->outcome = SQ_MODEL_TIMED_OUT;
            goto out;
        }
        int64_t wait = req->deadline - now;
        if (wait > 250)
            wait = 250;
        struct curl_waitfd extra = {.fd = req->wake_fd, .events = CURL_WAIT_POLLIN};
        int n = 0;
        curl_multi_poll(m, req->wake_fd >= 0 ? &extra : NULL, req->wake_fd >= 0 ? 1 : 0, (int)wait, &n);
        if (req->wake_fd >= 0 && (extra.revents & CURL_WAIT_POLLIN))
            drain(req->wake_fd);
        if (req->stop && req->stop(req->user)) {
            res->outcome = SQ_MODEL_STOPPED;
            goto out;
        }
    }
    if (!x.mode_known)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    if (done != CURLE_OK && !(done == CURLE_WRITE_ERROR && (res->reply.is_error || x.overflow))) {
        res->outcome = SQ_MODEL_NET_ERROR;
        res->blocked = x.blocked;
        snprintf(res->error, sizeof res->error, "the model endpoint could not be reached: %s",
                 x.blocked ? x.blocked_why : curl_easy_strerror(done));
        goto out;
    }
    res->outcome = SQ_MODEL_DONE;
    res->retry_after_ms = sq_agent_retry_after_ms(x.retry_after[0] ? x.retry_after : NULL, (int64_t)time(NULL));
    finish_body(&x);
out:
    if (m && h)
        curl_multi_remove_handle(m, h);
    if (h)
        curl_easy_cleanup(h);
    if (m)
        curl_multi_cleanup(m);
    curl_slist_free_all(hd); /* held the key: */
    sq_sse_free(&x.sse);
    free(x.body);
}
