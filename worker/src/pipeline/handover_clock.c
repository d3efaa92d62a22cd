/* handover_clock.c — see handover_clock.h. */
#include "pipeline/handover_clock.h"

bool sq_handover_due(int64_t revoked_at, int64_t settled_at, int64_t now, int64_t grace_ms)
{
    if (!revoked_at)
        return false;
    if (settled_at)
        return now - settled_at > grace_ms;
    return now - revoked_at > 4 * grace_ms;
}
