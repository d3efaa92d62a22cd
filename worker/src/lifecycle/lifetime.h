/* lifetime.h — a sandbox's lifetime and idle deadlines (pure: the caller passes
 * the time in, epoch milliseconds).
 *
 * Lifetime (timeoutMs) counts the time the sandbox is not paused: it is a
 * budget, used up while it runs and frozen while it is paused. Idle
 * (idleTimeoutMs) counts from the moment the sandbox last became ready with no
 * task running; a task stops the idle clock, pausing too.
 *
 * sandbox.setTimeout(t) gives the sandbox t more milliseconds of running time
 * from now (the E2B meaning): the budget becomes "used so far + t". Resuming a
 * sandbox whose budget was used up (it was paused by onTimeout: "pause")
 * starts a fresh budget of timeoutMs, or it would pause again at once. */
#ifndef SQ_LIFETIME_H
#define SQ_LIFETIME_H

#include <stdbool.h>
#include <stdint.h>

typedef enum sq_lifetime_due {
    SQ_LIFETIME_OK = 0,
    SQ_LIFETIME_EXPIRED, /* timeoutMs of running time used up */
    SQ_LIFETIME_IDLE,    /* idle for idleTimeoutMs */
} sq_lifetime_due;

typedef struct sq_lifetime {
    int64_t timeout_ms;      /* budget of running time; 0 = none */
    int64_t base_timeout_ms; /* the create's timeoutMs: the fresh budget on resume */
    int64_t idle_timeout_ms; /* 0 = none */
    int64_t used_ms;         /* running time before `since` */
    int64_t since;           /* start of the current running span; -1 while paused */
    int64_t idle_since;      /* when it last became idle; -1 while busy or paused */
} sq_lifetime;

/* A sandbox that just became ready (running, idle). */
void sq_lifetime_start(sq_lifetime *lt, int64_t timeout_ms, int64_t idle_timeout_ms, int64_t now);
void sq_lifetime_pause(sq_lifetime *lt, int64_t now);
void sq_lifetime_resume(sq_lifetime *lt, int64_t now);
/* A task starts (busy) or the last one ended (idle). Ignored while paused. */
void sq_lifetime_busy(sq_lifetime *lt, int64_t now);
void sq_lifetime_idle(sq_lifetime *lt, int64_t now);
/* sandbox.setTimeout: timeout_ms more running time from now. */
void sq_lifetime_set_timeout(sq_lifetime *lt, int64_t timeout_ms, int64_t now);

bool sq_lifetime_paused(const sq_lifetime *lt);
/* Running time used so far. */
int64_t sq_lifetime_used(const sq_lifetime *lt, int64_t now);
/* When the budget runs out if nothing changes (epoch ms); -1: none, or paused. */
int64_t sq_lifetime_deadline(const sq_lifetime *lt);
/* When the idle timeout fires if nothing changes; -1: none, busy or paused. */
int64_t sq_lifetime_idle_deadline(const sq_lifetime *lt);
/* The earlier of the two deadlines; -1 when neither runs. An actor can sleep
 * until then instead of polling. */
int64_t sq_lifetime_next_deadline(const sq_lifetime *lt);
/* Which deadline, if any, has passed at `now` (lifetime first). */
sq_lifetime_due sq_lifetime_check(const sq_lifetime *lt, int64_t now);

#endif
