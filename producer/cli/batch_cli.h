/* batch_cli.h — what the files of `sandq batch submit` share: cmd_batch.c (the
 * command: options, publishing, the event loop, catch-up), batch_jobs.c (reading
 * the file) and batch_results.c (the results file and its .state file). The decisions about each
 * job are the library's pure tracker (producer/src/batch_tracker.h). */
#ifndef SANDQ_BATCH_CLI_H
#define SANDQ_BATCH_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "batch_index.h"
#include "batch_tracker.h"
#include "sandq.h"

#define BATCH_REPLAY_SLACK_MS 30000 /* re-read events from this long before a run or a creation */

struct batch;
struct job_rt;
/* What a delivery report of one published request is about. */
typedef struct pub_ctx {
    struct batch *b;
    struct job_rt *jr;
    bool first; /* the line's first request */
    bool last;  /* the line's last request */
} pub_ctx;

/* One line: the tracker's state and the requests to publish for it. */
typedef struct job_rt {
    sqp_job_track tr;
    /* every request of the line, serialized and checked once when the file is read:
     * a job's create, its tasks, its kill (unless keep); a raw line's envelope */
    char **msgs;
    size_t nmsgs;
    struct pub_ctx *ctx; /* one delivery context per message, allocated with msgs */
    char region[8];      /* a job's create region ("" for none) */
} job_rt;

/* The run: its lines, how events reach them, what it counts. */
typedef struct batch {
    sandq_client_t *c;
    sandq_sub_t *sub;
    job_rt *jobs;
    size_t njobs;
    sqp_index by_sbx; /* job lines by sandbox id */
    sqp_index by_req; /* raw lines by request id */
    sqp_job_cfg cfg;
    size_t max_live;
    FILE *out;
    const char *region;
    /* counters */
    uint64_t total, skipped, submitted, succeeded, failed, live, finished;
    uint64_t publish_errors;
    int64_t t0;
} batch;

/* batch_jobs.c: read every line of path (stdin for "-") into b->jobs, each with its
 * requests serialized and checked; 0, or the exit code after printing every bad line
 * (CLI_EXIT_USAGE: nothing is sent) or an I/O failure. */
int batch_read_jobs(batch *b, const char *path, const char *salt, const char *tenant);
void batch_free_jobs(batch *b);

/* One results line for a finished job: status "succeeded", "failed" or (without
 * --wait) "submitted"; durationMs counted to now (sq_mono_ms). Not flushed. */
void batch_record(FILE *out, const sqp_job_track *jt, bool wait, const char *status, int64_t now);

/* Mark the lines an earlier run recorded in the results file at path as skipped
 * (with --wait those with a final status, without it every recorded line); a line
 * whose sandbox id differs (the file changed) is redone. Returns how many. */
uint64_t batch_load_previous(const char *path, bool wait, job_rt *jobs, size_t njobs);

/* The first run's start time, kept in <output>.state (written if absent), minus a
 * slack: where this run's subscription starts, so a resumed run re-reads the events
 * of jobs that were in flight. *resumed tells whether the file was there. */
int64_t batch_replay_since(const char *state_path, bool *resumed);

#endif
