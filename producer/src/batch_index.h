/* batch_index.h — finding a batch line by an id in O(1): `sandq batch submit`
 * routes every event of its single subscription to its job by sandbox id, and raw
 * lines' answers by request id. Open addressing over line indexes; the keys are not
 * copied but read back from the lines through a callback, so 200,000 lines cost
 * 8 bytes each. Pure; unit-tested with the tracker (tests/unit/test_batch_tracker.c). */
#ifndef SQP_BATCH_INDEX_H
#define SQP_BATCH_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The id of entry idx ("" for none: not indexed). */
typedef const char *(*sqp_index_key_fn)(const void *ctx, size_t idx);

typedef struct sqp_index {
    uint32_t *slots;   /* entry index + 1; 0 empty */
    size_t cap;        /* a power of two, > 2 × entries */
    sqp_index_key_fn key;
    const void *ctx;
} sqp_index;

/* Room for n entries; -1 out of memory. */
int sqp_index_init(sqp_index *ix, size_t n, sqp_index_key_fn key, const void *ctx);
void sqp_index_put(sqp_index *ix, size_t idx);
/* true with *idx set if an entry has this id. */
bool sqp_index_get(const sqp_index *ix, const char *id, size_t *idx);
void sqp_index_free(sqp_index *ix);

#endif
