/* batch_tracker.h — what `sandq batch submit` knows about each line of its file,
 * and what it should do next: the pure core of producer/cli/cmd_batch.c ("event in,
 * state out", as task.c is for one task).
 *
 * A job line goes: started (its create published) → created (Kafka acknowledged
 * it) → ready (sandbox.ready: its tasks and kill are published) → its tasks'
 * outcomes → its sandbox's end → finished (one results line). The tracker takes
 * the facts — sqp_job_apply (an event of the job's sandbox), sqp_job_apply_raw (an
 * event answering a raw line's request), sqp_job_published / sqp_job_delivered
 * (Kafka's acknowledgements) — and sqp_job_next(now) says what the command must do
 * now. Events come at least once and replays of duplicated requests bring old
 * events after newer ones: every event is applied at most once per job (its
 * sandbox's seqs, seqset.h), and a job is judged only once its sandbox's history
 * is whole up to its end. No I/O and no clock of its own (callers pass `now`,
 * sq_mono_ms()); unit-tested in tests/unit/test_batch_tracker.c. */
#ifndef SQP_BATCH_TRACKER_H
#define SQP_BATCH_TRACKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "sandq.h"
#include "seqset.h"

#define SQP_JOB_OUTPUT_CAP (64 * 1024)   /* bytes of stdout/stderr kept per task */
#define SQP_JOB_CATCH_UP_AFTER_MS 3000   /* see sqp_job_needs_catch_up */

typedef enum sqp_task_status {
    SQP_TASK_PENDING = 0,   /* no outcome yet ("not_run" if the job ends so) */
    SQP_TASK_COMPLETED,     /* sandbox.task.completed (any exit code) */
    SQP_TASK_FAILED,        /* sandbox.task.failed, or its request rejected */
} sqp_task_status;

/* Output kept for the results file, capped at SQP_JOB_OUTPUT_CAP. */
typedef struct sqp_outbuf {
    char *p;
    size_t len, cap;
    bool truncated;
} sqp_outbuf;

typedef struct sqp_task_track {
    sqp_task_status status;
    int exit_code;           /* completed: its exitCode, -1 if absent */
    char code[32];           /* failed: the error code */
    char message[256];
    json_t *result;          /* completed: its result (a reference), with --wait */
    sqp_outbuf out[2];       /* stdout, stderr, with --wait */
    uint64_t next[2];        /* stream offsets taken (dedupes replayed chunks) */
    int64_t outcome_seq;     /* seq of the event that gave its status (0: none yet) */
} sqp_task_track;

typedef enum sqp_job_phase { SQP_JOB_PENDING, SQP_JOB_STARTED, SQP_JOB_FINISHED } sqp_job_phase;

/* What the command must do for a job now (sqp_job_next). */
typedef enum sqp_job_action {
    SQP_JOB_WAIT = 0,       /* nothing until more facts arrive or time passes */
    SQP_JOB_RETRY_CREATE,   /* publish the create again, its requestId now create_req_cur */
    SQP_JOB_SEND_TASKS,     /* publish its tasks in order, then its kill (unless keep) */
    SQP_JOB_SEND_KILL,      /* it ran out of time: publish its kill, best effort */
    SQP_JOB_FINISH,         /* record its outcome (sqp_job_succeeded) */
} sqp_job_action;

typedef struct sqp_job_cfg {
    bool wait;               /* --wait: judge each job by its events, keep output */
    int64_t job_timeout_ms;
} sqp_job_cfg;

typedef struct sqp_job_track {
    sqp_batch_job j;         /* the parsed line: its ids, tasks, keep, raw type (owned) */
    sqp_job_phase phase;
    bool skip;               /* recorded by an earlier run */
    bool live;               /* holds one of --max-sandboxes' slots */
    /* facts learned from events (possibly before this run started the line) */
    bool ready_seen, ended_seen, failed;
    bool tasks_sent;
    bool submitted;          /* its first request was acknowledged by Kafka */
    int acks_pending;        /* messages published, delivery not yet reported */
    bool last_acked;         /* its last request was acknowledged */
    char fail_code[32];
    char fail_msg[256];
    sqp_task_track *t;       /* j.ntasks entries */
    int64_t started_ms;
    bool seen_first;         /* its sandbox's first event (seq 1) has been read */
    bool caught_up;          /* its sandbox's partition was re-read from its creation */
    sqp_seqset seen;         /* seqs of its sandbox's events applied (released when finished) */
    int64_t end_seq;         /* seq of the first end seen: ended/failed, or the kill's rejection */
    int64_t gap_since;       /* when a hole in the seqs applied appeared, 0 if none */
    /* A create refused with limit_exceeded (workers full) is sent again after a pause
     * under a new request id derived from the first: attempt k's id is fixed too, so a
     * resumed run's copies are still duplicates. */
    int create_attempt;
    char create_req_cur[SQ_ID_MAX];
    int64_t retry_at;        /* when the next attempt is due, 0 if none */
    /* raw lines */
    bool raw_answered;
    char raw_event[48];      /* the event type that answered it */
} sqp_job_track;

/* Take over *line (zeroed afterwards); 0, or -1 out of memory. */
int sqp_job_init(sqp_job_track *jt, sqp_batch_job *line);
void sqp_job_free(sqp_job_track *jt);

/* The line's first request is being published now. */
void sqp_job_start(sqp_job_track *jt, int64_t now);
/* A request of the job was handed to Kafka / its delivery was reported (first: the
 * line's first request; last: its last). code != SANDQ_OK fails the job with message.
 * sqp_job_delivered returns true when this made the job "submitted". */
void sqp_job_published(sqp_job_track *jt);
bool sqp_job_delivered(sqp_job_track *jt, bool first, bool last, sandq_code code, const char *message);
/* The job fails with code and message (the first failure is kept). */
void sqp_job_fail(sqp_job_track *jt, const char *code, const char *message);

/* An event of the job's sandbox (routed by sandbox id); `now` dates a hole in its seqs.
 * Returns false if it was ignored (a duplicate, or the job is skipped or finished). */
bool sqp_job_apply(sqp_job_track *jt, const sqp_job_cfg *cfg, const sandq_event *ev, int64_t now);
/* An event carrying a raw line's request id: the answer to it. */
void sqp_job_apply_raw(sqp_job_track *jt, const sandq_event *ev);

/* What to do now; the tracker records that it was asked (a SEND_TASKS is returned
 * once). Call again until SQP_JOB_WAIT or SQP_JOB_FINISH. */
sqp_job_action sqp_job_next(sqp_job_track *jt, const sqp_job_cfg *cfg, int64_t now);

/* A job whose create was acknowledged but whose sandbox's first event does not
 * arrive, or whose history keeps a hole, for SQP_JOB_CATCH_UP_AFTER_MS: its requests
 * were duplicates of an earlier run's whose events this run's subscription started
 * too late to see. The command then re-reads its sandbox's partition from its
 * creation and calls sqp_job_caught_up. */
bool sqp_job_needs_catch_up(const sqp_job_track *jt, int64_t now);
void sqp_job_caught_up(sqp_job_track *jt);

/* The request id of create attempt k (0: the line's own). */
void sqp_job_create_attempt_id(const sqp_job_track *jt, int k, char out[SQ_ID_MAX]);

/* The outcome of a finished job: raw lines by their answer, jobs by every task
 * completing with exit code 0 (or no exit code). */
bool sqp_job_succeeded(const sqp_job_track *jt);
const char *sqp_task_status_name(sqp_task_status s); /* "completed", "failed", "not_run" */

#endif
