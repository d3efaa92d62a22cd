/* offsets.h — which Kafka offset may be committed, per partition (pure logic).
 *
 * Messages of one partition complete out of order (sandbox A's long task, B's
 * quick one). Committing N+1 tells Kafka "everything up to N is done", so the
 * tracker only ever offers the lowest offset still unfinished — or one past
 * the last message seen when nothing is in flight. Offsets may have gaps
 * (compaction, transaction markers): only offsets that arrived are tracked.
 * Not thread-safe: the caller serializes access. */
#ifndef SQ_OFFSETS_H
#define SQ_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sq_offsets sq_offsets;

typedef struct sq_offset_commit {
    char topic[250];
    int32_t partition;
    int64_t offset; /* the offset to commit: next message to consume */
} sq_offset_commit;

sq_offsets *sq_offsets_new(void);
void sq_offsets_free(sq_offsets *t);
/* A message was consumed. Offsets of one partition arrive in increasing order;
 * an offset at or below one already seen (a re-delivery after a seek) is
 * ignored and 0 returned; 1 when it is now tracked; -1 out of memory. */
int sq_offsets_arrive(sq_offsets *t, const char *topic, int32_t partition, int64_t offset);
/* A message's effects are durable. Unknown offsets (e.g. after a revoke) are ignored. */
void sq_offsets_complete(sq_offsets *t, const char *topic, int32_t partition, int64_t offset);
/* The partition was revoked: forget it (in-flight completions are then ignored). */
void sq_offsets_revoke(sq_offsets *t, const char *topic, int32_t partition);
/* Partitions whose committable offset advanced since the last call, at most
 * max; only those of `topic` (NULL: every topic) — each requests topic has a
 * consumer of its own (pipeline/consumer.h), which stores only its offsets. */
size_t sq_offsets_take_committable(sq_offsets *t, const char *topic, sq_offset_commit *out, size_t max);
/* Messages consumed but not yet complete, over all partitions. */
size_t sq_offsets_inflight(const sq_offsets *t);
/* The per-partition bound (SANDQ_PARTITION_INFLIGHT): partitions (of `topic`,
 * NULL: every topic) that reached `cap` unfinished messages and are not held
 * yet go to hold[] (to pause), held ones back below it go to release[] (to
 * resume); each list at most max. A revoked partition is forgotten, held or not. */
void sq_offsets_holds(sq_offsets *t, const char *topic, size_t cap, sq_offset_commit *hold, size_t *nhold, sq_offset_commit *release,
                      size_t *nrelease, size_t max);

#endif
