/* http_range.h — one HTTP Range header against a file's size (pure), for the
 * worker-served artifact downloads (artifacts/serve.c). One range only: a
 * multi-range request is answered with the whole file (RFC 9110 lets a server
 * ignore Range), never multipart/byteranges. */
#ifndef SQ_HTTP_RANGE_H
#define SQ_HTTP_RANGE_H

#include <stdint.h>

typedef enum sq_range_kind {
    SQ_RANGE_NONE = 0,      /* no header, or one we ignore: 200 with the whole file */
    SQ_RANGE_OK,            /* 206 with [first, first+len) */
    SQ_RANGE_UNSATISFIABLE, /* 416 */
} sq_range_kind;

/* "bytes=a-b", "bytes=a-", "bytes=-n". */
sq_range_kind sq_range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *len);

#endif
