/* lifetime.c — see lifetime.h. */
#include "lifecycle/lifetime.h"

void sq_lifetime_start(sq_lifetime *lt, int64_t timeout_ms, int64_t idle_timeout_ms, int64_t now)
{
    *lt = (sq_lifetime){.timeout_ms = timeout_ms > 0 ? timeout_ms : 0,
                        .base_timeout_ms = timeout_ms > 0 ? timeout_ms : 0,
                        .idle_timeout_ms = idle_timeout_ms > 0 ? idle_timeout_ms : 0,
                        .since = now,
                        .idle_since = now};
}

bool sq_lifetime_paused(const sq_lifetime *lt)
{
    return lt->since < 0;
}

int64_t sq_lifetime_used(const sq_lifetime *lt, int64_t now)
{
    int64_t span = lt->since >= 0 && now > lt->since ? now - lt->since : 0;
    return lt->used_ms + span;
}

void sq_lifetime_pause(sq_lifetime *lt, int64_t now)
{
    if (sq_lifetime_paused(lt))
        return;
    lt->used_ms = sq_lifetime_used(lt, now);
    lt->since = -1;
    lt->idle_since = -1;
}

void sq_lifetime_resume(sq_lifetime *lt, int64_t now)
{
    if (!sq_lifetime_paused(lt))
        return;
    if (lt->timeout_ms > 0 && lt->used_ms >= lt->timeout_ms) {
        lt->used_ms = 0;
        lt->timeout_ms = lt->base_timeout_ms;
    }
    lt->since = now;
    lt->idle_since = now;
}

void sq_lifetime_busy(sq_lifetime *lt, int64_t now)
{
    (void)now;
    if (!sq_lifetime_paused(lt))
        lt->idle_since = -1;
}

void sq_lifetime_idle(sq_lifetime *lt, int64_t now)
{
    if (!sq_lifetime_paused(lt))
        lt->idle_since = now;
}

void sq_lifetime_set_timeout(sq_lifetime *lt, int64_t timeout_ms, int64_t now)
{
    lt->timeout_ms = sq_lifetime_used(lt, now) + (timeout_ms > 0 ? timeout_ms : 0);
    if (timeout_ms > 0)
        lt->base_timeout_ms = timeout_ms;
}

int64_t sq_lifetime_deadline(const sq_lifetime *lt)
{
    if (lt->timeout_ms <= 0 || sq_lifetime_paused(lt))
        return -1;
    return lt->since + (lt->timeout_ms - lt->used_ms);
}

int64_t sq_lifetime_idle_deadline(const sq_lifetime *lt)
{
    if (lt->idle_timeout_ms <= 0 || lt->idle_since < 0 || sq_lifetime_paused(lt))
        return -1;
    return lt->idle_since + lt->idle_timeout_ms;
}

int64_t sq_lifetime_next_deadline(const sq_lifetime *lt)
{
    int64_t a = sq_lifetime_deadline(lt), b = sq_lifetime_idle_deadline(lt);
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

sq_lifetime_due sq_lifetime_check(const sq_lifetime *lt, int64_t now)
{
    int64_t d = sq_lifetime_deadline(lt);
    if (d >= 0 && now >= d)
        return SQ_LIFETIME_EXPIRED;
    d = sq_lifetime_idle_deadline(lt);
    if (d >= 0 && now >= d)
        return SQ_LIFETIME_IDLE;
    return SQ_LIFETIME_OK;
}
