/* output_log.c — see output_log.h. No I/O. */
#include "caps/documents/output_log.h"

#include <stdio.h>
#include <string.h>

void sq_doc_log_add(sq_doc_log *l, const char *data, size_t len)
{
    size_t cap = sizeof l->buf - 1;
    if (len >= cap) { /* keep the tail: the error comes last */
        data += len - cap;
        len = cap;
    }
    if (l->len + len > cap) {
        size_t drop = l->len + len - cap;
        memmove(l->buf, l->buf + drop, l->len - drop);
        l->len -= drop;
    }
    memcpy(l->buf + l->len, data, len);
    l->len += len;
    l->buf[l->len] = '\0';
}

void sq_doc_log_last(const sq_doc_log *l, char *out, size_t out_size)
{
    out[0] = '\0';
    const char *p = l->buf, *end = l->buf + l->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
            n--;
        if (n && !(n >= 8 && strncmp(p, "Warning:", 8) == 0 && memmem(p, n, "javaldx", 7)))
            snprintf(out, out_size, "%.*s", (int)n, p);
        p = e + 1;
    }
}
