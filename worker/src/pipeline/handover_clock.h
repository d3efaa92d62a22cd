/* handover_clock.h — when a sandbox whose partition was revoked is given up
 * (pure).
 *
 * A revoke is not yet a move: a broker restart or a lost coordinator revokes
 * every partition, and they come back to this worker once the group has
 * settled — which can take longer than any fixed grace on a loaded machine.
 * So the grace runs from the first assignment after the revoke (the group
 * has settled, and the partition was not among what came back), not from
 * the revoke itself. A group that never settles again gives the sandbox up
 * after four graces all the same: it must not claim to be ready forever on a
 * worker that no longer owns it. */
#ifndef SQ_HANDOVER_CLOCK_H
#define SQ_HANDOVER_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* revoked_at: monotonic ms of the revoke, 0 if the partition is owned;
 * settled_at: of the first assignment after it, 0 if none yet. */
bool sq_handover_due(int64_t revoked_at, int64_t settled_at, int64_t now, int64_t grace_ms);

#endif
