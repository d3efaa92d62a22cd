/* export.h — turning workspace files into artifacts (issue 13, docs/artifacts.md).
 *
 * A batch collects the files one task exports: each is opened with the
 * workspace's confined open (handlers/ws_fs.h: openat2 beneath /workspace, no
 * symlink out of it, non-blocking so a FIFO the sandbox planted cannot hold the
 * thread, regular files only), checked against SANDQ_ARTIFACT_MAX_BYTES, hashed
 * and uploaded to the store (store.h). What could not be exported is listed
 * with a protocol code instead. Publishing the batch queues one `artifacts` row
 * per file and emits one `sandbox.artifacts.updated` event, or several (`part`,
 * `parts`) when one would be over SANDQ_MAX_EVENT_BYTES (parts.h).
 *
 * The hook for other producers (browser screenshots and PDFs, documents,
 * recordings, the agent): sq_art_batch_init, sq_art_batch_add_file for each
 * file the task produced, sq_art_batch_publish once, sq_art_batch_free.
 * task.exec/task.code's `outputs` globs go through sq_art_batch_add_globs
 * (lifecycle/task.c calls it when the task ends). */
#ifndef SQ_ARTIFACT_EXPORT_H
#define SQ_ARTIFACT_EXPORT_H

#include <jansson.h>

#include "worker.h"

typedef struct sq_art_batch {
    sq_worker *w;
    sq_live_sandbox *sb;
    const sq_request *req;
    json_t *artifacts;   /* [{artifactId, path, sizeBytes, sha256, contentType, url}] */
    json_t *skipped;     /* [{path, code, message}] */
    json_t *rows;        /* what PostgreSQL gets: [{…, storageKey}] */
    int64_t files;       /* exported + skipped, against SANDQ_ARTIFACT_MAX_FILES */
    bool store_failed;   /* the store failed once: the rest are not attempted */
    bool despite_kill;   /* the next files are exported even while a kill waits (a browser task's finished
                            recording: the record of what the killed task did; bounded by the store's timeouts) */
    int parts;           /* after publishing: how many sandbox.artifacts.updated it took */
} sq_art_batch;

void sq_art_batch_init(sq_art_batch *b, sq_worker *w, sq_live_sandbox *sb, const sq_request *req);
void sq_art_batch_free(sq_art_batch *b);

/* Export one file, rel relative to /workspace (normalized: workspace_path.h).
 * A file that cannot be exported lands in `skipped`; returns -1 only when the
 * store itself failed (then err says why, and the file is skipped `internal`). */
int sq_art_batch_add_file(sq_art_batch *b, const char *rel, sq_err *err);

/* A file the worker itself produced (an asciicast recording: caps/recording/),
 * not in the workspace: fd (a memfd, read from offset 0; closed here) is
 * exported under `name`, a relative path that only names the artifact. Same
 * limits and failure rules as sq_art_batch_add_file. */
int sq_art_batch_add_fd(sq_art_batch *b, const char *name, int fd, sq_err *err);

/* Every regular file matching one of the patterns (artifacts/outputs_glob.h),
 * found by a walk that never follows a symlinked directory. */
void sq_art_batch_add_globs(sq_art_batch *b, const json_t *patterns);

/* Check `outputs` before a task runs: invalid_request / path_outside_workspace. */
int sq_art_outputs_check(const json_t *patterns, sq_err *why);

/* Rows to PostgreSQL and the sandbox.artifacts.updated event(s) (taskId = the
 * request's); b->parts says how many events. */
int sq_art_batch_publish(sq_art_batch *b, sq_err *err);

#endif
