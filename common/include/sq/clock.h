/* clock.h — the two clocks every part of sandq reads, and a plain sleep.
 *
 * Wall time (sq_now_ms) is what goes into events, rows and deadlines a user
 * sees; the monotonic clock (sq_mono_ms) is for measuring and waiting, since
 * it never jumps when the host's time is set. Kept apart from codec.h: what
 * needs the time has nothing to do with base64. */
#ifndef SQ_CLOCK_H
#define SQ_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t sq_now_ms(void);
/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t sq_mono_ms(void);
/* Sleep ms milliseconds (≤ 0: not at all). A signal may cut it short. */
void sq_sleep_ms(int64_t ms);

#endif
