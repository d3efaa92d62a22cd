/* chunks.h — planning and accepting chunked transfers (docs/internals.md "Files").
 *
 * A file larger than one message travels as ordered chunks of at most
 * SQ_FILE_CHUNK_MAX (512 KiB) raw bytes; streamed output arrives as chunks tagged
 * with the byte offset of their stream. Pure: no I/O. Unit-tested. */
#ifndef SQP_CHUNKS_H
#define SQP_CHUNKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many chunks of at most `max` bytes a transfer of `total` bytes needs. An empty
 * transfer is still one (empty) chunk, so an empty file gets created. max > 0. */
size_t sqp_chunk_count(uint64_t total, size_t max);

/* The byte range of chunk idx (< sqp_chunk_count): *off and *len. */
void sqp_chunk_range(uint64_t total, size_t max, size_t idx, uint64_t *off, size_t *len);

/* A chunk [off, off+len) of a stream arrived while the caller has already taken
 * *next bytes of it. Decides what part is new: sets *skip (bytes to drop at the
 * front) and returns how many to take (0 for a duplicate), and advances *next.
 * A chunk beyond *next (a gap) is taken whole and *next jumps to its end; the caller
 * detects the gap by comparing off with *next before calling, if it cares. */
size_t sqp_chunk_accept(uint64_t *next, uint64_t off, size_t len, size_t *skip);

/* One sandbox.task.output chunk, decoded from its event's data: the stream
 * ("stdout" 0, "stderr" 1, "data" 2, else -1), its offset in that stream if the event
 * has one, and its bytes (text from `data`, or decoded from `dataB64`). Shared by a
 * task's own wait (task.c) and the batch tracker (batch_tracker.c). */
typedef struct sqp_out_chunk {
    int stream;
    bool has_offset;
    uint64_t offset;
    unsigned char *bytes;   /* malloc'ed (free it), NUL-terminated; NULL on failure */
    size_t len;
} sqp_out_chunk;

typedef enum {
    SQP_CHUNK_OK = 0,
    SQP_CHUNK_NO_DATA = -1,    /* neither data nor dataB64 */
    SQP_CHUNK_BAD_BASE64 = -2,
    SQP_CHUNK_NO_MEMORY = -3,
} sqp_chunk_status;

sqp_chunk_status sqp_out_chunk_decode(const json_t *data, sqp_out_chunk *c);

#endif
