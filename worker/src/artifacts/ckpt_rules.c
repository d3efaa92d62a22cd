/* ckpt_rules.c — see ckpt_rules.h. No I/O. */
#include "artifacts/ckpt_rules.h"

int64_t sq_ckpt_auto_next(int64_t started, int64_t ended, int64_t interval)
{
    int64_t next = started + interval;
    return next > ended ? next : ended + interval;
}

bool sq_ckpt_auto_is_due(int64_t interval, sq_state state, bool kill_pending, int64_t now, int64_t due)
{
    return interval > 0 && state == SQ_STATE_READY && !kill_pending && now >= due;
}

int sq_ckpt_auto_wait(int64_t interval, int64_t now, int64_t due, int wait_ms)
{
    if (interval <= 0)
        return wait_ms;
    int64_t left = due - now;
    if (left >= wait_ms)
        return wait_ms;
    return left > 10 ? (int)left : 10;
}

size_t sq_ckpt_retention_pick(const bool *is_auto, size_t n, int64_t keep_manual, int64_t keep_auto, bool *drop)
{
    int64_t seen_manual = 0, seen_auto = 0;
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t *seen = is_auto[i] ? &seen_auto : &seen_manual;
        int64_t keep = is_auto[i] ? keep_auto : keep_manual;
        drop[i] = ++*seen > keep;
        dropped += drop[i];
    }
    return dropped;
}
