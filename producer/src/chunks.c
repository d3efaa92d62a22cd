/* chunks.c — chunk planning for files.write and de-duplication of streamed chunks. */
#include "chunks.h"

#include <stdlib.h>
#include <string.h>

#include "sq/codec.h"

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

sqp_chunk_status sqp_out_chunk_decode(const json_t *data, sqp_out_chunk *c)
{
    memset(c, 0, sizeof *c);
    const char *stream = json_string_value(json_object_get(data, "stream"));
    c->stream = !stream ? -1 : strcmp(stream, "stdout") == 0 ? 0 : strcmp(stream, "stderr") == 0 ? 1
                             : strcmp(stream, "data") == 0   ? 2 : -1;
    const json_t *off = json_object_get(data, "offset");
    if (json_is_integer(off) && json_integer_value(off) >= 0) {
        c->has_offset = true;
        c->offset = (uint64_t)json_integer_value(off);
    }
    const json_t *text = json_object_get(data, "data");
    const json_t *b64 = json_object_get(data, "dataB64");
    if (json_is_string(text)) {
        c->len = json_string_length(text);
        if (!(c->bytes = malloc(c->len + 1)))
            return SQP_CHUNK_NO_MEMORY;
        memcpy(c->bytes, json_string_value(text), c->len);
    } else if (json_is_string(b64)) {
        size_t in = json_string_length(b64);
        if (!(c->bytes = malloc(in / 4 * 3 + 3)))
            return SQP_CHUNK_NO_MEMORY;
        long n = sq_b64_decode(json_string_value(b64), in, c->bytes);
        if (n < 0) {
            free(c->bytes);
            c->bytes = NULL;
            return SQP_CHUNK_BAD_BASE64;
        }
        c->len = (size_t)n;
    } else {
        return SQP_CHUNK_NO_DATA;
    }
    c->bytes[c->len] = '\0';
    return SQP_CHUNK_OK;
}
