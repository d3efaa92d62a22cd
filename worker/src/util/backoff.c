/* backoff.c — see backoff.h. */
#include "util/backoff.h"

sq_backoff sq_backoff_make(int64_t first_ms, int64_t cap_ms)
{
    return (sq_backoff){.first_ms = first_ms, .cap_ms = cap_ms, .next_ms = first_ms};
}

int64_t sq_backoff_next(sq_backoff *b)
{
    int64_t now = b->next_ms;
    /* Compared before doubling, so a cap near INT64_MAX cannot overflow. */
    b->next_ms = now > b->cap_ms / 2 ? b->cap_ms : now * 2;
    return now;
}

void sq_backoff_reset(sq_backoff *b) { b->next_ms = b->first_ms; }
