/* cdp_frame.h — the framing of Chromium's --remote-debugging-pipe: each
 * message is one JSON text followed by a NUL byte, in both directions.
 *
 * Pure: bytes in, whole messages out. The reader appends what it read from the
 * browser's output fd and pops complete messages; the buffer has a hard size
 * bound, because the other end is a process of the sandbox and may write
 * anything (a screenshot of a huge page is the largest honest message). */
#ifndef SQ_CDP_FRAME_H
#define SQ_CDP_FRAME_H

#include <stdbool.h>
#include <stddef.h>

/* Largest message accepted from the browser: a full-page PNG or a PDF,
 * base64-encoded, must fit. */
#define SQ_CDP_MAX_MESSAGE (96u * 1024u * 1024u)

typedef struct sq_cdp_frame {
    char *buf;
    size_t len;       /* bytes held */
    size_t cap;
    size_t scanned;   /* bytes of buf already known to hold no NUL */
    size_t max;       /* bound for one message (SQ_CDP_MAX_MESSAGE unless a test lowers it) */
} sq_cdp_frame;

void sq_cdp_frame_init(sq_cdp_frame *f, size_t max);
void sq_cdp_frame_free(sq_cdp_frame *f);

/* Room for at least `want` more bytes at sq_cdp_frame_tail(). Returns 0, or -1
 * when the message being received would exceed the bound (or malloc failed). */
int sq_cdp_frame_reserve(sq_cdp_frame *f, size_t want);
char *sq_cdp_frame_tail(sq_cdp_frame *f);
/* The caller wrote n bytes at the tail. */
void sq_cdp_frame_commit(sq_cdp_frame *f, size_t n);
/* Append bytes (reserve + copy + commit). Returns 0 or -1 as reserve. */
int sq_cdp_frame_append(sq_cdp_frame *f, const void *data, size_t n);

/* Pop the next whole message: returns a malloc'd, NUL-terminated copy (without
 * the delimiter) and its length, or NULL when no whole message is held yet.
 * Empty messages (two NULs in a row) are skipped. */
char *sq_cdp_frame_next(sq_cdp_frame *f, size_t *len);

/* Encode one outgoing message: the JSON text plus its NUL, malloc'd. */
char *sq_cdp_frame_encode(const char *json, size_t *out_len);

#endif
