/* parts.h — how one export's list is split over several
 * `sandbox.artifacts.updated` events, so none is over SANDQ_MAX_EVENT_BYTES
 * (pure; docs/protocol.md#artifacts).
 *
 * The items (the artifacts, then the skipped files, in the order the export
 * found them) are laid out greedily: a part takes items while their JSON still
 * fits in `budget` bytes, then the next part begins. Every item lands in
 * exactly one part, in order. An item larger than the budget on its own gets a
 * part of its own (its event is then refused as too large, as before). */
#ifndef SQ_ART_PARTS_H
#define SQ_ART_PARTS_H

#include <stddef.h>

/* Bytes of a part's `data` besides its items: the keys, brackets and the
 * `part`/`parts` numbers at their widest. */
#define SQ_ART_PART_FIXED_BYTES 96

/* item_bytes[i]: item i's compact JSON length. Writes each item's part (0-based)
 * to part_of[i] and returns the number of parts (1 when n is 0). */
size_t sq_art_parts_plan(const size_t *item_bytes, size_t n, size_t budget, size_t *part_of);

#endif
