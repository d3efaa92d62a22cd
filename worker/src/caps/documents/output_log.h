/* output_log.h — what a converter printed, kept for its failure's message:
 * the tail of its stdout and stderr, bounded, and its last meaningful line.
 * Pure; unit-tested (tests/unit/test_doc_formats.c). */
#ifndef SQ_DOC_OUTPUT_LOG_H
#define SQ_DOC_OUTPUT_LOG_H

#include <stddef.h>

/* The last 2 KiB of the output. */
typedef struct sq_doc_log {
    char buf[2048];
    size_t len;
} sq_doc_log;
void sq_doc_log_add(sq_doc_log *l, const char *data, size_t len);
/* The last non-empty line that is not a known harmless warning; "" if none. */
void sq_doc_log_last(const sq_doc_log *l, char *out, size_t out_size);

#endif
