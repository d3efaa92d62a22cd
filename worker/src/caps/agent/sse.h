/* sse.h — a Server-Sent Events line parser for streamed chat completions (pure).
 *
 * Bytes arrive in whatever pieces the network gives (a line, an event, even a
 * UTF-8 character can be split across reads). The parser keeps the partial
 * line, joins the `data:` lines of one event, hands each complete event to a
 * callback at its blank line, ignores comment lines (": OPENROUTER
 * PROCESSING" keep-alives) and other fields, and stops at `data: [DONE]`.
 * Every buffer is bounded: a line or event past SQ_SSE_MAX_EVENT is an error,
 * never unbounded memory. Unit-tested in tests/unit/test_agent_sse.c. */
#ifndef SQ_AGENT_SSE_H
#define SQ_AGENT_SSE_H

#include <stdbool.h>
#include <stddef.h>

#define SQ_SSE_MAX_EVENT (4u << 20)

/* One event's joined data (NUL-terminated). Return < 0 to stop parsing. */
typedef int (*sq_sse_event_fn)(void *user, const char *data, size_t len);

typedef struct sq_sse {
    char *line;
    size_t line_len, line_cap;
    char *data;
    size_t data_len, data_cap;
    bool has_data;
    bool done;        /* [DONE] seen: nothing after it is parsed */
    bool too_large;   /* a line or event exceeded SQ_SSE_MAX_EVENT */
    bool skip_lf;     /* the last byte was a CR: a following LF ends nothing new */
} sq_sse;

void sq_sse_init(sq_sse *s);
void sq_sse_free(sq_sse *s);
/* Feed bytes. Returns 0, or -1 when the callback stopped it or a bound was
 * exceeded (too_large). */
int sq_sse_feed(sq_sse *s, const char *bytes, size_t n, sq_sse_event_fn fn, void *user);
/* End of stream: an event not yet closed by a blank line is delivered. */
int sq_sse_finish(sq_sse *s, sq_sse_event_fn fn, void *user);

#endif
