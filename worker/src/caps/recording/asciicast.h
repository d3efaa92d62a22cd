/* asciicast.h — an exec's output as an asciicast v2 recording
 * (docs/recording.md). Pure: bytes and times in, the file's text out.
 *
 * Format: a header line {"version": 2, "width", "height", "timestamp",
 * "title", "command"?}, then one [seconds, "o", data] line per chunk the
 * worker streamed. stderr goes in as "o" too, in the order the worker read the
 * two pipes: that is what a terminal would have shown (asciicast v2 has no
 * stderr stream). Every chunk is redacted (redact.h) with a carry per stream,
 * so a secret split across two chunks is still found. Bytes that are not
 * UTF-8 become U+FFFD (the data is a JSON string). The text is bounded by
 * max_bytes (SANDQ_RECORDING_MAX_BYTES): past it the output is dropped and a
 * last line says the recording was truncated. */
#ifndef SQ_ASCIICAST_H
#define SQ_ASCIICAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps/recording/redact.h"

typedef struct sq_cast {
    const sq_redactor *r;  /* borrowed */
    char *text;            /* the file so far */
    size_t len, cap, max;
    bool truncated, failed;
    int64_t dropped;       /* output bytes not recorded (past max) */
    double last_t;
    char *carry[3];        /* per stream [1]=stdout [2]=stderr: bytes held back (redact.h) */
    size_t carry_len[3];
} sq_cast;

/* The header. command may be NULL (task.code). -1: out of memory. */
int sq_cast_init(sq_cast *c, const sq_redactor *r, size_t max_bytes, int width, int height, int64_t epoch_s,
                 const char *title, const char *command);
/* One chunk of stream 1 (stdout) or 2 (stderr), t seconds after the start. */
void sq_cast_output(sq_cast *c, int stream, double t, const char *bytes, size_t len);
/* Releases what the carries held back; adds the truncation note. Then
 * c->text[0..c->len) is the file. */
void sq_cast_finish(sq_cast *c, double t);
void sq_cast_free(sq_cast *c);

/* Appends s[0..n) as a JSON string literal (quotes included), invalid UTF-8
 * as U+FFFD. Exposed for the unit test. Returns false when out of memory. */
bool sq_cast_json_string(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

#endif
