/* backoff.h — the retry schedule every waiting loop of the worker uses: wait
 * `first_ms`, then double, never more than `cap_ms`; start over once the
 * thing waited for worked. Pure (no clock, no sleep): the caller sleeps the
 * delay it is given (sq_sleep_ms, sq/clock.h), so the schedule is unit-tested
 * on its own (tests/unit/test_backoff.c). */
#ifndef SQ_BACKOFF_H
#define SQ_BACKOFF_H

#include <stdint.h>

typedef struct sq_backoff {
    int64_t first_ms;
    int64_t cap_ms;
    int64_t next_ms; /* the delay the next sq_backoff_next returns */
} sq_backoff;

/* A schedule starting at first_ms (> 0), doubling up to cap_ms (≥ first_ms). */
sq_backoff sq_backoff_make(int64_t first_ms, int64_t cap_ms);
/* The delay to wait now; the one after it is twice as long, up to the cap. */
int64_t sq_backoff_next(sq_backoff *b);
/* It worked: the next wait is first_ms again. */
void sq_backoff_reset(sq_backoff *b);

#endif
