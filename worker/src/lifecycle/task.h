/* task.h — the lifecycle every task shares (exec, code, files.*):
 * task.queued → sandbox.active → task.started → output… → task.completed |
 * task.failed → sandbox.ready, with Redis task status and a PostgreSQL row. */
#ifndef SQ_TASK_H
#define SQ_TASK_H

#include <jansson.h>
#include <stdint.h>

#include "worker.h"

typedef struct sq_task {
    sq_worker *w;
    sq_live_sandbox *sb;
    const sq_request *req;
    const char *kind;
    int64_t started_mono;
    int64_t offsets[3];        /* bytes emitted so far per stream: [0]=data, [1]=stdout, [2]=stderr */
    struct sq_cast *cast;      /* capabilities.recording: the output's asciicast (caps/recording/), else NULL */
} sq_task;

/* What a task body reports back to sq_task_run. */
typedef struct sq_task_outcome {
    int exit_code;             /* < 0: none */
    json_t *result;            /* owned; may be NULL */
    sq_err failure;            /* code != SQ_OK: the task failed with this */
    const char *reason;        /* optional machine reason for a failure ("oom_killed"); static string */
    json_t *extra;             /* owned; may be NULL: more fields for the failed event (browser: actionIndex, op) */
    json_t *produced;          /* owned; may be NULL: workspace-relative paths of files the task wrote for the
                                  caller (browser screenshots and PDFs): exported as artifacts when it ends,
                                  like `outputs` (issue 13) */
    int recorded_fd;           /* >= 0: the task's browser recording, a finished MP4 (caps/browser/recording.h),
                                  exported as `.sandq/recording/<taskId>.mp4` (closed by sq_task_run) — also
                                  when the task was canceled (kill, task.cancel): the video of what happened */
} sq_task_outcome;

typedef void (*sq_task_body)(sq_task *t, sq_task_outcome *out);

/* Run a task body wrapped in the shared lifecycle. summary (stolen) is what
 * PostgreSQL records of the task. Returns -1 only on a store/Kafka failure. */
int sq_task_run(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, json_t *summary, sq_task_body body,
                sq_err *err);

/* Emit one sandbox.task.output chunk. stream: 0 "data", 1 "stdout", 2 "stderr".
 * UTF-8 text goes in `data`; anything else (and every "data" chunk) in `dataB64`. */
int sq_task_output(sq_task *t, int stream, const char *bytes, size_t len, sq_err *err);

#endif
