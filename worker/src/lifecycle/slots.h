/* slots.h — per-host allocation of sandbox uid ranges.
 *
 * Slot N owns host uids/gids [uid_base + N*65536, +65536). A slot is held by an
 * flock on <run_dir>/slot-N.lock, so several workers on one host never hand the
 * same range to two sandboxes, and a crashed worker's slots free themselves
 * when the kernel drops its locks. */
#ifndef SQ_SLOTS_H
#define SQ_SLOTS_H

#include "worker.h"

#define SQ_SLOT_IDS 65536u

/* Fills sb->slot, sb->slot_lock_fd, sb->host_uid, sb->host_gid. limit_exceeded when all are taken. */
int sq_slot_acquire(sq_worker *w, sq_live_sandbox *sb, sq_err *err);
void sq_slot_release(sq_live_sandbox *sb);

#endif
