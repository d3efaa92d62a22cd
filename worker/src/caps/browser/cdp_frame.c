/* cdp_frame.c — see cdp_frame.h. No I/O. */
#include "caps/browser/cdp_frame.h"

#include <stdlib.h>
#include <string.h>

void sq_cdp_frame_init(sq_cdp_frame *f, size_t max)
{
    memset(f, 0, sizeof *f);
    f->max = max ? max : SQ_CDP_MAX_MESSAGE;
}

void sq_cdp_frame_free(sq_cdp_frame *f)
{
    free(f->buf);
    memset(f, 0, sizeof *f);
}

int sq_cdp_frame_reserve(sq_cdp_frame *f, size_t want)
{
    /* The reader pops every whole message after each read, so what is held
     * here is one message still arriving. Once that alone is over the bound
     * the writer is broken (or hostile): stop instead of growing. */
    if (f->len > f->max)
        return -1;
    if (f->len + want <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 64 * 1024;
    while (cap < f->len + want)
        cap *= 2;
    char *b = realloc(f->buf, cap);
    if (!b)
        return -1;
    f->buf = b;
    f->cap = cap;
    return 0;
}

char *sq_cdp_frame_tail(sq_cdp_frame *f)
{
    return f->buf + f->len;
}

void sq_cdp_frame_commit(sq_cdp_frame *f, size_t n)
{
    f->len += n;
}

int sq_cdp_frame_append(sq_cdp_frame *f, const void *data, size_t n)
{
    if (sq_cdp_frame_reserve(f, n) < 0)
        return -1;
    memcpy(sq_cdp_frame_tail(f), data, n);
    sq_cdp_frame_commit(f, n);
    return 0;
}

char *sq_cdp_frame_next(sq_cdp_frame *f, size_t *len)
{
    for (;;) {
        char *nul = f->len > f->scanned ? memchr(f->buf + f->scanned, '\0', f->len - f->scanned) : NULL;
        if (!nul) {
            f->scanned = f->len;
            return NULL;
        }
        size_t n = (size_t)(nul - f->buf);
        char *msg = NULL;
        if (n > 0) {
            msg = malloc(n + 1);
            if (!msg)
                return NULL;
            memcpy(msg, f->buf, n);
            msg[n] = '\0';
        }
        /* Shift the rest down: messages are few and mostly small, and the
         * big ones (screenshots) come alone, so the copy is cheap. */
        memmove(f->buf, nul + 1, f->len - n - 1);
        f->len -= n + 1;
        f->scanned = 0;
        if (msg) {
            *len = n;
            return msg;
        }
    }
}

char *sq_cdp_frame_encode(const char *json, size_t *out_len)
{
    size_t n = strlen(json);
    char *m = malloc(n + 1);
    if (!m)
        return NULL;
    memcpy(m, json, n);
    m[n] = '\0';
    *out_len = n + 1;
    return m;
}
