/* batch_index.c — see batch_index.h. FNV-1a over the id, linear probing. */
#include "batch_index.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int sqp_index_init(sqp_index *ix, size_t n, sqp_index_key_fn key, const void *ctx)
{
    ix->cap = 16;
    while (ix->cap < n * 2 + 2)
        ix->cap *= 2;
    ix->key = key;
    ix->ctx = ctx;
    ix->slots = calloc(ix->cap, sizeof *ix->slots);
    return ix->slots ? 0 : -1;
}

void sqp_index_put(sqp_index *ix, size_t idx)
{
    const char *id = ix->key(ix->ctx, idx);
    if (!id || !id[0])
        return;
    for (size_t i = hash_id(id) & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1))
        if (!ix->slots[i]) {
            ix->slots[i] = (uint32_t)idx + 1;
            return;
        }
}

bool sqp_index_get(const sqp_index *ix, const char *id, size_t *idx)
{
    if (!ix->slots || !id || !id[0])
        return false;
    for (size_t i = hash_id(id) & (ix->cap - 1); ix->slots[i]; i = (i + 1) & (ix->cap - 1)) {
        size_t cand = ix->slots[i] - 1;
        if (strcmp(ix->key(ix->ctx, cand), id) == 0) {
            *idx = cand;
            return true;
        }
    }
    return false;
}

void sqp_index_free(sqp_index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
}
