/* http_range.c — see http_range.h. */
#include "artifacts/http_range.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static bool num(const char **p, uint64_t *out)
{
    if (!isdigit((unsigned char)**p))
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)**p)) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

sq_range_kind sq_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *len)
{
    if (!h || strncmp(h, "bytes=", 6) != 0)
        return SQ_RANGE_NONE;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ','))
        return SQ_RANGE_NONE;
    uint64_t a = 0, b = 0;
    if (*p == '-') { /* the last n bytes */
        p++;
        if (!num(&p, &b) || *p)
            return SQ_RANGE_NONE;
        if (b == 0 || size == 0)
            return SQ_RANGE_UNSATISFIABLE;
        if (b > size)
            b = size;
        *first = size - b;
        *len = b;
        return SQ_RANGE_OK;
    }
    if (!num(&p, &a) || *p != '-')
        return SQ_RANGE_NONE;
    p++;
    bool open_end = *p == '\0';
    if (!open_end && (!num(&p, &b) || *p || b < a))
        return SQ_RANGE_NONE;
    if (a >= size)
        return SQ_RANGE_UNSATISFIABLE;
    if (open_end || b >= size)
        b = size - 1;
    *first = a;
    *len = b - a + 1;
    return SQ_RANGE_OK;
}
