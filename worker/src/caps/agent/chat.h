/* chat.h — one assistant reply of an OpenAI-compatible chat-completions
 * endpoint, built from a streamed answer (chunk by chunk: content deltas
 * appended, `delta.tool_calls` fragments joined by their `index`) or from a
 * whole JSON answer (choices[0].message). An `error` object anywhere a reply
 * can carry one (an HTTP 200 body, a chunk mid-stream) makes the reply an
 * error. Pure; unit-tested in tests/unit/test_agent_sse.c. */
#ifndef SQ_AGENT_CHAT_H
#define SQ_AGENT_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_CHAT_MAX_CALLS 64           /* tool calls in one reply; more is an error */
#define SQ_CHAT_MAX_TEXT (1u << 20)    /* content or one call's arguments */

typedef struct sq_chat_call {
    char *id;
    char *name;
    char *args;
    size_t args_len;
} sq_chat_call;

typedef struct sq_chat_reply {
    char *content;                 /* NULL: none (content null) */
    size_t content_len;
    sq_chat_call calls[SQ_CHAT_MAX_CALLS];
    int ncalls;
    char finish[32];
    int64_t prompt_tokens, completion_tokens;
    double cost;
    bool has_usage, has_cost;
    bool is_error;
    int error_status;              /* the error object's code when numeric (429, 502, …), else 0 */
    char error[512];
} sq_chat_reply;

void sq_chat_reply_free(sq_chat_reply *r);
/* Apply one streamed chunk (an SSE event's JSON). Returns -1 (and sets error)
 * on a chunk that breaks a bound or is not JSON. */
int sq_chat_apply_chunk(sq_chat_reply *r, const char *json, size_t len);
/* A whole (non-streamed) answer. */
int sq_chat_apply_full(sq_chat_reply *r, const char *json, size_t len);
/* The message to append to the conversation: role assistant, content (null
 * when none), tool_calls (each with an id: a missing one is made up from
 * step and position, so the tool results can name it). */
json_t *sq_chat_reply_message(sq_chat_reply *r, int step);
/* The human-readable error of an error body ("{error: {message, code}}"), or
 * the first bytes of a non-JSON body, into out. */
void sq_chat_error_text(const char *body, size_t len, char *out, size_t out_size, int *code);

#endif
