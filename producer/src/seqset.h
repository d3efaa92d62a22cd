/* seqset.h — which events of one sandbox a consumer has already applied, by seq.
 *
 * Events are delivered at least once, and a duplicate request is answered with its
 * stored events again (same eventId, same seq, published after newer ones), so a
 * consumer must not apply an event twice. Within a sandbox's stream, seq ≥ 1 names an
 * event as well as its eventId does (one seq per event, no gaps), and a set of seqs
 * is small where a set of eventIds is not: applied seqs are kept as "1..prefix" plus
 * a sorted list of disjoint runs above it — one number for a stream read in order,
 * a run or two while a replay or a re-read fills a hole. seq 0 (a rejection outside
 * any stream) is not tracked: such an event is answered by its requestId.
 *
 * Pure: no I/O. Unit-tested (tests/unit/test_seqset.c). */
#ifndef SQP_SEQSET_H
#define SQP_SEQSET_H

#include <stdbool.h>
#include <stdint.h>

/* Runs kept above the prefix. A stream fragmented further than this (never seen in
 * practice: each hole is a stretch the consumer has not read yet) is not remembered
 * beyond it: sqp_seqset_add says so and the event counts as new. */
#define SQP_SEQSET_MAX_RUNS 1024

typedef struct sqp_seqset {
    int64_t prefix;       /* every seq in 1..prefix is applied */
    int64_t (*runs)[2];   /* applied [lo, hi] runs, lo > prefix + 1, sorted, not touching */
    uint32_t n, cap;
} sqp_seqset;

#define SQP_SEQSET_INIT {0, 0, 0, 0}

/* Record seq as applied. Returns 1 if it is new (apply the event), 0 if it was
 * already applied (a duplicate: skip it), -1 if it is new but could not be
 * remembered (out of memory or SQP_SEQSET_MAX_RUNS: apply it; a later copy would
 * count as new again). seq ≤ 0 is always 1 and not recorded. */
int sqp_seqset_add(sqp_seqset *s, int64_t seq);

bool sqp_seqset_has(const sqp_seqset *s, int64_t seq);

/* The largest n such that 1..n are all applied (0: seq 1 is not). */
int64_t sqp_seqset_prefix(const sqp_seqset *s);

/* The highest seq applied (0: none). Higher than the prefix while there is a hole. */
int64_t sqp_seqset_max(const sqp_seqset *s);

/* Forget everything and release the memory; the set is empty and usable again. */
void sqp_seqset_clear(sqp_seqset *s);

#endif
