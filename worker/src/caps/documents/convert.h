/* convert.h — the documents capability's I/O: is LibreOffice installed on
 * this worker, the command a conversion runs inside the sandbox (named steps
 * in one small shell script: make the output directory, remove a stale
 * output, run soffice with the sandbox's private profile or pdftotext), and
 * what the conversion left in the workspace (size and sha256, read by the
 * worker beneath the workspace's fd, never through a path string). */
#ifndef SQ_DOC_CONVERT_H
#define SQ_DOC_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps/documents/formats.h"
#include "sq/err.h"

/* Inside the sandbox, on its /tmp tmpfs (so it goes with the sandbox and
 * never fills the workspace): LibreOffice's user profile and HOME. One per
 * sandbox, since two soffice processes must not share a profile; it stays
 * between tasks, so only the sandbox's first conversion creates it (the
 * "cold" start of docs/documents.md). */
#define SQ_DOC_DIR "/tmp/.sandq-documents"

/* Find soffice (SANDQ_SOFFICE_BIN, default /usr/bin/soffice; it must be
 * under /usr) and pdftotext, once at start-up. Returns soffice's path, or NULL
 * with why filled: creates with capabilities.documents are then rejected
 * capability_unavailable. */
const char *sq_doc_detect(char *why, size_t why_size);
/* What sq_doc_detect found; NULL when unavailable. */
const char *sq_doc_soffice(void);

/* The argv (NULL-terminated, pointing into the plan, the paths and a static
 * script) and envp that convert in_abs into outdir_abs, writing out_abs.
 * Paths are absolute inside the sandbox (/workspace/…). */
typedef struct sq_doc_command {
    const char *argv[16];
    const char *envp[8];
    char sandbox_env[96];
} sq_doc_command;
void sq_doc_command_build(sq_doc_command *c, const sq_doc_plan *plan, const char *sandbox_id, const char *in_abs,
                          const char *outdir_abs, const char *out_abs);

/* The conversion's output rel (workspace-relative) beneath workspace_fd: a
 * regular file, its size and lowercase hex sha256. not_found when missing. */
int sq_doc_output_stat(int workspace_fd, const char *rel, int64_t *size, char sha256[65], sq_err *err);

#endif
