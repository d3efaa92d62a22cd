/* sse.c — see sse.h. */
#include "caps/agent/sse.h"

#include <stdlib.h>
#include <string.h>

void sq_sse_init(sq_sse *s)
{
    memset(s, 0, sizeof *s);
}

void sq_sse_free(sq_sse *s)
{
    free(s->line);
    free(s->data);
    memset(s, 0, sizeof *s);
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

static int dispatch(sq_sse *s, sq_sse_event_fn fn, void *user)
{
    if (!s->has_data)
        return 0;
    s->has_data = false;
    size_t n = s->data_len;
    s->data_len = 0;
    if (n == 6 && memcmp(s->data, "[DONE]", 6) == 0) {
        s->done = true;
        return 0;
    }
    return fn(user, s->data, n) < 0 ? -1 : 0;
}

/* One complete line (without its end). */
static int on_line(sq_sse *s, const char *l, size_t n, sq_sse_event_fn fn, void *user)
{
    if (n == 0)
        return dispatch(s, fn, user);
    if (l[0] == ':')
        return 0; /* a comment: keep-alive */
    const char *colon = memchr(l, ':', n);
    size_t flen = colon ? (size_t)(colon - l) : n;
    if (flen != 4 || memcmp(l, "data", 4) != 0)
        return 0; /* event:, id:, retry: carry nothing we use */
    const char *v = colon ? colon + 1 : l + n;
    size_t vlen = (size_t)(l + n - v);
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    size_t need = s->data_len + (s->has_data ? 1 : 0) + vlen + 1;
    if (need > SQ_SSE_MAX_EVENT) {
        s->too_large = true;
        return -1;
    }
    if (grow(&s->data, &s->data_cap, need) < 0)
        return -1;
    if (s->has_data)
        s->data[s->data_len++] = '\n';
    memcpy(s->data + s->data_len, v, vlen);
    s->data_len += vlen;
    s->data[s->data_len] = '\0';
    s->has_data = true;
    return 0;
}

int sq_sse_feed(sq_sse *s, const char *bytes, size_t n, sq_sse_event_fn fn, void *user)
{
    for (size_t i = 0; i < n && !s->done; i++) {
        char c = bytes[i];
        if (c == '\n' && s->skip_lf) { /* the LF of a CRLF */
            s->skip_lf = false;
            continue;
        }
        s->skip_lf = false;
        if (c == '\r' || c == '\n') {
            s->skip_lf = c == '\r';
            size_t len = s->line_len;
            s->line_len = 0;
            if (on_line(s, s->line ? s->line : "", len, fn, user) < 0)
                return -1;
            continue;
        }
        if (s->line_len + 1 > SQ_SSE_MAX_EVENT) {
            s->too_large = true;
            return -1;
        }
        if (grow(&s->line, &s->line_cap, s->line_len + 1) < 0)
            return -1;
        s->line[s->line_len++] = c;
    }
    return 0;
}

int sq_sse_finish(sq_sse *s, sq_sse_event_fn fn, void *user)
{
    if (s->done)
        return 0;
    if (s->line_len) {
        size_t len = s->line_len;
        s->line_len = 0;
        if (on_line(s, s->line, len, fn, user) < 0)
            return -1;
    }
    return dispatch(s, fn, user);
}
