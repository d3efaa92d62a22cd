/* ckpt_rules.h — the pure decisions of checkpoints (issue 13,
 * docs/checkpoints.md): when the next automatic checkpoint is due, whether
 * the actor takes one now, and which checkpoints retention removes. No I/O;
 * handlers/checkpoint.c and handlers/checkpoint_auto.c act on them. */
#ifndef SQ_CKPT_RULES_H
#define SQ_CKPT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq/protocol.h"

/* The next due time (monotonic ms) after an automatic checkpoint that
 * started at `started` and ended (stored, skipped or failed) at `ended`:
 * started + interval, so the rate is every intervalMs; but when it ran
 * longer than that, ended + interval — a slow store never makes them run
 * back to back, nor catch up on the ones missed. */
int64_t sq_ckpt_auto_next(int64_t started, int64_t ended, int64_t interval);

/* Whether the actor takes an automatic checkpoint now: enabled (interval >
 * 0), the sandbox `ready` (a running task ends first; never while paused,
 * pausing or ending), no sandbox.kill pending, and due. */
bool sq_ckpt_auto_is_due(int64_t interval, sq_state state, bool kill_pending, int64_t now, int64_t due);

/* How long the actor may sleep (at most wait_ms) so that it wakes for the
 * next automatic checkpoint; 10 ms at least. */
int sq_ckpt_auto_wait(int64_t interval, int64_t now, int64_t due, int wait_ms);

/* Retention. is_auto[0..n) are one sandbox's checkpoints, newest first;
 * manual ones keep the newest keep_manual (SANDQ_CHECKPOINT_KEEP), automatic
 * ones the newest keep_auto (SANDQ_CHECKPOINT_AUTO_KEEP), each counted on its
 * own. drop[i] is set for those to remove; returns how many. */
size_t sq_ckpt_retention_pick(const bool *is_auto, size_t n, int64_t keep_manual, int64_t keep_auto, bool *drop);

#endif
