/* chunks.c — chunk planning for files.write and de-duplication of streamed chunks. */
#include "chunks.h"

size_t sqp_chunk_count(uint64_t total, size_t max)
{
    if (total == 0)
        return 1;
    return (size_t)((total + max - 1) / max);
}

void sqp_chunk_range(uint64_t total, size_t max, size_t idx, uint64_t *off, size_t *len)
{
    uint64_t o = (uint64_t)idx * max;
    if (o >= total) {
        *off = total;
        *len = 0;
        return;
    }
    uint64_t rest = total - o;
    *off = o;
    *len = rest < max ? (size_t)rest : max;
}

size_t sqp_chunk_accept(uint64_t *next, uint64_t off, size_t len, size_t *skip)
{
    uint64_t end = off + len;
    if (end <= *next) {
        *skip = len;
        return 0; /* all of it already taken: a replayed duplicate */
    }
    if (off < *next) {
        *skip = (size_t)(*next - off);
        *next = end;
        return (size_t)(end - off) - *skip;
    }
    *skip = 0;
    *next = end;
    return len;
}
