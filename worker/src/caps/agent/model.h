/* model.h — one request to an OpenAI-compatible chat-completions endpoint,
 * made by the worker with libcurl on the sandbox's actor thread.
 *
 * The endpoint's address comes from a user (the sandbox's env), so it is
 * reached under the webhook SSRF guard (sq/webhook_ssrf.h): curl's
 * open-socket callback classifies the address right before connect(), so a
 * name that resolves (or re-resolves) to loopback, a private range or cloud
 * metadata is refused unless the worker allows private endpoints
 * (SANDQ_AGENT_ALLOW_PRIVATE_ENDPOINTS=1); metadata never. No proxy from the
 * environment, no redirects, http(s) only, and plain http only to a private
 * endpoint so allowed (the key travels in the Authorization header).
 *
 * The call is preemptible: it runs on a curl multi handle polled together
 * with the sandbox's control eventfd, and `stop` is asked whenever that fd
 * wakes and at least every 250 ms; past `deadline` (monotonic ms) it ends as
 * timed out. Streamed (text/event-stream) and whole JSON answers are both
 * read, by the answer's Content-Type. Every buffer is bounded. */
#ifndef SQ_AGENT_MODEL_H
#define SQ_AGENT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps/agent/chat.h"

typedef struct sq_model_req {
    const char *url;          /* …/chat/completions */
    const char *api_key;
    const char *body;
    size_t body_len;
    bool allow_private;
    int64_t deadline;         /* monotonic ms */
    int wake_fd;              /* -1: none */
    bool (*stop)(void *user); /* true: stop now */
    void *user;
} sq_model_req;

typedef enum {
    SQ_MODEL_DONE = 0,        /* an HTTP answer came (see status and reply) */
    SQ_MODEL_NET_ERROR,       /* no HTTP answer: connect refused, reset, TLS, refused by the guard */
    SQ_MODEL_STOPPED,         /* stop() said so */
    SQ_MODEL_TIMED_OUT,       /* the deadline passed */
} sq_model_outcome;

typedef struct sq_model_res {
    sq_model_outcome outcome;
    long status;
    int64_t retry_after_ms;   /* -1: none */
    sq_chat_reply reply;      /* filled on a 2xx; is_error for an error body */
    char error[512];          /* the reason, for NET_ERROR and non-2xx */
    bool blocked;             /* NET_ERROR because the SSRF guard refused the address */
} sq_model_res;

void sq_model_call(const sq_model_req *req, sq_model_res *res);

/* Check a base URL before use: http(s), a host; plain http only with
 * allow_private. Returns 0, or -1 with why. */
int sq_model_check_url(const char *base, bool allow_private, char *why, size_t why_size);

#endif
