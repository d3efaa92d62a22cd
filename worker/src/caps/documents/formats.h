/* formats.h — the documents capability as pure rules: which conversions
 * task.document supports (the input's extension and `to`), how each one runs
 * (LibreOffice with a forced import filter, or poppler's pdftotext), the
 * output's name, and capabilities.documents at create (installed? memory
 * floor). No I/O; unit-tested (tests/unit/test_doc_formats.c). */
#ifndef SQ_DOC_FORMATS_H
#define SQ_DOC_FORMATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"

/* soffice --convert-to peaks at ≈210 MiB RSS (LibreOffice 7.4). Measured in
 * a sandbox: a one-paragraph docx → pdf is OOM-killed at memoryMb 144 and
 * converts from 160 on, no slower than at 512; 256 leaves room for real
 * documents (docs/documents.md, "Limits"). */
#define SQ_DOC_MIN_MEMORY_MB 256
/* task.document's timeoutMs when the request names none. */
#define SQ_DOC_DEFAULT_TIMEOUT_MS 120000

typedef enum sq_doc_tool { SQ_DOC_SOFFICE, SQ_DOC_PDFTOTEXT } sq_doc_tool;

/* How one supported conversion runs. */
typedef struct sq_doc_plan {
    const char *from;       /* the input's format (its extension, lowercase; "htm" → "html") */
    const char *to;         /* the output's format and extension */
    sq_doc_tool tool;
    /* soffice only: --infilter (forced, so garbage named .docx fails to load
     * instead of being opened as plain text) and --convert-to's argument. */
    const char *infilter;
    const char *convert_to;
} sq_doc_plan;

/* The plan for input path `input` (its extension decides the input format)
 * converted to `to`. Fails with invalid_request: field body.input when the
 * input's extension is not a format we read, body.to when that format cannot
 * be converted to `to`; the message lists what is supported. */
int sq_doc_plan_for(const char *input, const char *to, sq_doc_plan *plan, sq_err *err);

/* The output's workspace-relative path: outdir (normalized, "." = the
 * workspace) + the input's base name with its extension replaced by `to`.
 * Returns -1 (invalid_request, body.input) when it does not fit. */
int sq_doc_output_path(const char *outdir, const char *input, const char *to, char *out, size_t out_size,
                       sq_err *err);

/* The directory part of a normalized relative path ("." when none). */
void sq_doc_dirname(const char *rel, char *out, size_t out_size);

/* capabilities.documents {libreofficeHeadless: true} is present in a create body. */
bool sq_doc_wanted(const json_t *create_body);

/* May this create have the documents capability? available: the worker found
 * soffice and pdftotext; memory_mb: the resolved memory limit (0 = none).
 * capability_unavailable (body.capabilities.documents) or limit_exceeded
 * (body.limits.memoryMb). */
int sq_doc_create_check(bool wanted, bool available, int64_t memory_mb, sq_err *err);

#endif
