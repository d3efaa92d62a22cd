/* chunks.h — planning and accepting chunked transfers (docs/internals.md "Files").
 *
 * A file larger than one message travels as ordered chunks of at most
 * SQ_FILE_CHUNK_MAX (512 KiB) raw bytes; streamed output arrives as chunks tagged
 * with the byte offset of their stream. Pure: no I/O. Unit-tested. */
#ifndef SQP_CHUNKS_H
#define SQP_CHUNKS_H

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

#endif
