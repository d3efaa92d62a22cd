/* batch.h — the pure parts of `sandq batch submit` (producer/cli/cmd_batch.c):
 * deterministic ids per line, parsing a JSONL line into a job, the rate limiter and
 * the progress line. No I/O; unit-tested in tests/unit/test_batch.c.
 *
 * Deterministic ids are what make a re-run of the same file safe: every id a line
 * needs (its sandbox, its create/task/kill requests, its tasks) is derived from
 * sha256(salt, line number, line bytes, role), so submitting the file again sends
 * byte-identical request ids and the worker's requestId dedupe drops the copies. */
#ifndef SQP_BATCH_H
#define SQP_BATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq/ids.h"

#define SQP_BATCH_SEED_LEN 32
#define SQP_BATCH_MAX_TASKS 256

/* The seed of one line: sha256("sandq-batch/1" NUL salt NUL lineno NUL line). */
void sqp_batch_seed(const char *salt, uint64_t lineno, const char *line, size_t len,
                    unsigned char seed[SQP_BATCH_SEED_LEN]);

/* A ULID-shaped id "<prefix>_<26 chars>" from sha256(seed, role): valid for
 * sq_id_valid (first char ≤ '7'). Its 48-bit time part is taken from the hash and kept
 * below 2^40 ms (before 2005), so it never claims a future creation time. */
void sqp_batch_id(const unsigned char seed[SQP_BATCH_SEED_LEN], const char *prefix, const char *role,
                  char out[SQ_ID_MAX]);

typedef struct sqp_batch_task {
    char type[32];            /* "task.exec", "task.code", "files.write", … */
    json_t *body;             /* owned */
    char task_id[SQ_ID_MAX];
    char request_id[SQ_ID_MAX];
} sqp_batch_task;

typedef struct sqp_batch_job {
    uint64_t line;            /* 1-based line number in the file */
    bool raw;                 /* a raw request line (sent as is) rather than a job */
    /* job lines */
    json_t *create_body;      /* owned; the sandbox.create body */
    json_t *metadata;         /* owned or NULL; sent on every request of the job */
    bool keep;                /* "keep": true → no kill at the end */
    size_t ntasks;
    sqp_batch_task *tasks;    /* owned */
    char sandbox_id[SQ_ID_MAX];
    char create_request_id[SQ_ID_MAX];
    char kill_request_id[SQ_ID_MAX];
    /* raw lines: the envelope with every missing id filled in (owned) */
    json_t *raw_env;
    char raw_type[32];
    char raw_task_id[SQ_ID_MAX];  /* "" unless the type takes a taskId */
    char raw_request_id[SQ_ID_MAX];
} sqp_batch_job;

typedef enum { SQP_LINE_JOB = 1, SQP_LINE_SKIP = 0, SQP_LINE_ERROR = -1 } sqp_line_kind;

/* Parse one line (without its newline). Blank lines and lines starting with '#' are
 * SQP_LINE_SKIP. A job line:
 *   {"create": {create body}, "tasks": [TASK…], "metadata": {…}, "keep": false}
 * where TASK is {"exec": ["cmd", "arg"…]} | {"sh": "shell line"} |
 *   {"code": "…", "language": "python"} (these three take an optional "timeoutMs")
 *   | {"type": "task.exec"|"files.write"|…, "body": {…}}.
 * Any object with a "type" field is a raw request envelope: missing requestId,
 * sandboxId (and taskId for task.*, files.*, checkpoint.* types) are filled in
 * deterministically, "v" defaults to 1 and "tenant" to `tenant`.
 * On error, errbuf gets a one-line reason. */
sqp_line_kind sqp_batch_parse_line(const char *line, size_t len, uint64_t lineno, const char *salt,
                                   const char *tenant, sqp_batch_job *out, char *errbuf, size_t errlen);
void sqp_batch_job_free(sqp_batch_job *job);

/* Token bucket. rate ≤ 0 → unlimited. burst: tokens that may accumulate (≥ 1). */
typedef struct sqp_rate {
    double rate;      /* tokens per second */
    double burst;
    double tokens;
    int64_t last_ms;
} sqp_rate;

void sqp_rate_init(sqp_rate *r, double per_sec, int64_t now_ms);
/* Take a token if one is available at now_ms. */
bool sqp_rate_take(sqp_rate *r, int64_t now_ms);
/* Milliseconds until a token is available (0 if one is). */
int64_t sqp_rate_wait_ms(const sqp_rate *r, int64_t now_ms);
/* "100/s", "6000/m", "2/h", or a bare number (per second) → tokens per second.
 * Returns -1 if malformed or not positive. */
int sqp_parse_rate(const char *s, double *per_sec);

typedef struct sqp_progress {
    uint64_t total;      /* lines with work */
    uint64_t submitted;  /* lines whose requests Kafka has acknowledged (at least the first) */
    uint64_t running;    /* jobs with a live sandbox */
    uint64_t succeeded;
    uint64_t failed;
    int64_t elapsed_ms;
    double rate;         /* units of progress per second (submissions, or finished jobs when waiting) */
    bool waiting;        /* --wait: progress (and ETA) counts finished jobs, else submissions */
} sqp_progress;

/* The TTY bar: "[#####-----]  50% 500/1000 submitted · 12 running · 480 ok · 8 failed · 95.2/s · ETA 5s".
 * width is the bar's inner width. Returns out. */
char *sqp_progress_bar(const sqp_progress *p, int width, char *out, size_t len);
/* The plain line for logs: "batch: 500/1000 submitted, 12 running, 480 succeeded, 8 failed, 95.2/s, elapsed 5.2s". */
char *sqp_progress_line(const sqp_progress *p, char *out, size_t len);

#endif
