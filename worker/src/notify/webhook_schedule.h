/* webhook_schedule.h — when a failed webhook delivery is tried again.
 *
 * The schedule is Svix's: attempt 1 immediately, then 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h and 10 h after each failure (8 attempts over about 28 h);
 * after the last one the delivery is failed. Each delay gets ±10 % jitter so
 * a receiver that was down is not hit by every retry in the same second. A
 * receiver's Retry-After is honoured: the next attempt is not earlier than it
 * asks (capped at SQ_WH_RETRY_AFTER_MAX_MS).
 *
 * Tests shorten the schedule with SANDQ_WEBHOOK_SCHEDULE ("0,200ms,200ms").
 * Pure: unit-tested in tests/unit/test_webhook_schedule.c. */
#ifndef SQ_WEBHOOK_SCHEDULE_H
#define SQ_WEBHOOK_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"

#define SQ_WH_SCHEDULE_MAX 16
#define SQ_WH_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

typedef struct sq_wh_schedule {
    int64_t delay_ms[SQ_WH_SCHEDULE_MAX]; /* delay_ms[i]: before attempt i+1 (delay_ms[0] is the first, 0) */
    size_t n;                             /* number of attempts */
} sq_wh_schedule;

/* The default: 0, 5s, 5m, 30m, 2h, 5h, 10h, 10h. */
void sq_wh_schedule_default(sq_wh_schedule *s);

/* Parse "0,5s,5m,30m,2h,5h,10h,10h": comma-separated durations with a unit of
 * ms, s, m or h (a bare number is milliseconds); 1-16 entries. */
int sq_wh_schedule_parse(const char *spec, sq_wh_schedule *s, sq_err *err);

/* The delay before the next attempt after `attempts` attempts have failed, or
 * -1 when none is left (the delivery is failed). jitter_rnd is a uniformly
 * random 32-bit value (the caller's randomness keeps this function pure);
 * retry_after_ms < 0 means the receiver sent none. */
int64_t sq_wh_next_delay_ms(const sq_wh_schedule *s, int attempts, int64_t retry_after_ms, uint32_t jitter_rnd);

/* A Retry-After header value (delta-seconds or an IMF-fixdate such as
 * "Wed, 21 Oct 2015 07:28:00 GMT") as milliseconds from now_ms; -1 if it is
 * neither. A date in the past gives 0. */
int64_t sq_wh_retry_after_ms(const char *value, int64_t now_ms);

#endif
