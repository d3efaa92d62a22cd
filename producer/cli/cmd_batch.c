/* cmd_batch.c — `sandq batch submit FILE`: submit a JSONL file of jobs at volume.
 *
 * Each line is a job (a sandbox, its tasks, then a kill) or a raw request envelope
 * (producer/src/batch.h has the format). Every id a line needs is derived from the
 * line itself (batch.h: deterministic ids), so running the same command again after
 * Ctrl-C or a crash re-sends byte-identical request ids: the worker's requestId dedupe
 * drops the copies, and lines already recorded in the output file are skipped.
 *
 * One process, one thread, one Kafka consumer for every sandbox of the file
 * (sandq_events_open_since on all partitions, routed by sandbox id through a hash
 * table), one producer publishing asynchronously (sandq_publish: librdkafka batching,
 * idempotent, a delivery report checked for every message). The loop:
 *   start lines  (token bucket --rate, at most --max-sandboxes live sandboxes)
 *   → publish    (create; after sandbox.ready: the tasks in order, then the kill)
 *   → follow     (task output/results, sandbox.ended/failed, request.rejected)
 *   → record     (one outcome line per job in the output JSONL, flushed at once)
 * A `<output>.state` file remembers when the first run started, so a resumed run
 * re-reads the events of jobs that were in flight. Their requests, sent again, are
 * duplicates: the worker does not run them again but answers each with its stored
 * events (same eventIds and seqs, published after newer ones). Every event is applied
 * at most once per job (its sandbox's seqs, seqset.h), so a replay is information —
 * it can fill in what this run has not read — never a second outcome; and a job is
 * judged only once the history of its sandbox is whole up to its end.
 *
 * This file is the I/O around the library's job tracker (producer/src/batch_tracker.h,
 * which decides what each job needs next); reading the file is batch_jobs.c, the
 * results and state files batch_results.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "batch_cli.h"
#include "batch_index.h"
#include "cli.h"
#include "internal.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "sq/env.h"
#include "units.h"

#define DRAIN_MAX 2000           /* events handled per loop turn */

static const char help[] =
    "usage: sandq batch submit FILE [options]\n"
    "\n"
    "Submit every line of FILE (JSONL) at volume. A line is either a job:\n"
    "  {\"create\": {CREATE BODY}, \"tasks\": [TASK...], \"metadata\": {...}, \"keep\": false}\n"
    "  TASK = {\"exec\": [\"cmd\",\"arg\"...]} | {\"sh\": \"line\"} | {\"code\": \"...\", \"language\": \"python\"}\n"
    "         | {\"type\": \"files.write\", \"body\": {...}}      (each may add \"timeoutMs\")\n"
    "a job creates a sandbox, runs its tasks in order once it is ready, then kills it\n"
    "(unless keep); or a raw request envelope {\"type\": \"...\", \"body\": {...}, ...}, sent\n"
    "as is. Blank lines and lines starting with # are skipped.\n"
    "\n"
    "Ids are derived from each line (its bytes, its number and --salt), so running the\n"
    "same command again after Ctrl-C resumes: the worker drops duplicate requests and\n"
    "lines already in the output file are skipped.\n"
    "\n"
    "Options:\n"
    "  --rate N/s           start at most N lines per second (also N/m; default unlimited)\n"
    "  --max-sandboxes K    at most K sandboxes of this batch live at once (default 50;\n"
    "                       0 = no limit). A create the workers refuse as full\n"
    "                       (limit_exceeded) is retried after a pause, until --job-timeout;\n"
    "                       one whose own limits are above the workers' maximum fails\n"
    "  --wait               wait for every job's outcome and write it, with its task\n"
    "                       results, to the output file\n"
    "  -o, --output FILE    results JSONL (default FILE.results.jsonl); one line per job:\n"
    "                       {\"line\",\"sandboxId\",\"status\",\"error\"?,\"tasks\":[{\"taskId\",\n"
    "                       \"status\",\"exitCode\",\"stdout\",\"stderr\",\"result\"?,\"error\"?}],\n"
    "                       \"durationMs\"}; without --wait {\"line\",\"sandboxId\",\"status\":\"submitted\"}\n"
    "  --job-timeout D      give up on a job after D (default 10m): failed, wait_timeout\n"
    "  --salt S             mix S into the ids: the same file with another salt is new work\n"
    "  --region R           region for jobs whose create body has none\n"
    "  --linger-ms N        producer linger.ms (default 20)\n"
    "  --json               print the final summary as JSON\n"
    "  -h, --help           this help\n"
    "\n"
    "Progress goes to stderr: a live bar on a terminal, else a plain line every 2s.\n"
    "Exit codes: 0 all succeeded (or, without --wait, all submitted); 1 some failed;\n"
    "2 bad usage or a malformed line (nothing is sent); 130 interrupted (re-run to resume).\n"
    "\n"
    "Examples:\n"
    "  sandq batch submit jobs.jsonl --rate 200/s --max-sandboxes 50 --wait\n"
    "  sandq batch submit jobs.jsonl --wait -o results.jsonl && jq -c 'select(.status!=\"succeeded\")' results.jsonl\n"
    "  echo '{\"create\":{},\"tasks\":[{\"sh\":\"echo hi\"}]}' > j.jsonl && sandq batch submit j.jsonl --wait\n";

enum { O_RATE = 256, O_MAX, O_WAIT, O_TIMEOUT, O_SALT, O_REGION, O_LINGER, O_JSON };

static const struct option opts[] = {
    {"rate", required_argument, 0, O_RATE},       {"max-sandboxes", required_argument, 0, O_MAX},
    {"wait", no_argument, 0, O_WAIT},             {"output", required_argument, 0, 'o'},
    {"job-timeout", required_argument, 0, O_TIMEOUT}, {"salt", required_argument, 0, O_SALT},
    {"region", required_argument, 0, O_REGION},   {"linger-ms", required_argument, 0, O_LINGER},
    {"json", no_argument, 0, O_JSON},             {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static const char *sbx_key(const void *ctx, size_t i)
{
    const job_rt *jr = &((const batch *)ctx)->jobs[i];
    return jr->tr.j.raw ? "" : jr->tr.j.sandbox_id;
}

static const char *req_key(const void *ctx, size_t i)
{
    const job_rt *jr = &((const batch *)ctx)->jobs[i];
    return jr->tr.j.raw ? jr->tr.j.raw_request_id : "";
}

static job_rt *lookup(batch *b, const sqp_index *ix, const char *id)
{
    size_t i;
    return sqp_index_get(ix, id, &i) ? &b->jobs[i] : NULL;
}

/* ---- publishing ---- */

static void on_delivery(void *user, sandq_code code, const char *message)
{
    pub_ctx *p = user;
    if (code)
        p->b->publish_errors++;
    if (sqp_job_delivered(&p->jr->tr, p->first, p->last, code, message))
        p->b->submitted++;
}

static void publish(batch *b, job_rt *jr, size_t idx, bool first, bool last)
{
    pub_ctx *p = &jr->ctx[idx];
    *p = (pub_ctx){b, jr, first, last};
    bool create = !jr->tr.j.raw && idx == 0;
    const char *msg = jr->msgs[idx];
    sandq_error err;
    if (sandq_publish_checked(b->c, jr->tr.j.sandbox_id, create ? jr->region : NULL, msg, strlen(msg), on_delivery,
                              p, &err)) {
        b->publish_errors++;
        sqp_job_fail(&jr->tr, sandq_code_name(err.code), err.message);
    } else {
        sqp_job_published(&jr->tr);
    }
}

static void start_line(batch *b, job_rt *jr)
{
    sqp_job_start(&jr->tr, sq_mono_ms());
    if (jr->tr.live)
        b->live++;
    publish(b, jr, 0, true, jr->tr.j.raw);
}

/* Send the create again under the tracker's next attempt id: the same envelope with
 * the requestId (same length: "req_" + 26) replaced. */
static void retry_create(batch *b, job_rt *jr)
{
    char prev[SQ_ID_MAX];
    sqp_job_create_attempt_id(&jr->tr, jr->tr.create_attempt - 1, prev);
    char *at = strstr(jr->msgs[0], prev);
    const char *next = jr->tr.create_req_cur;
    if (!at || strlen(next) != strlen(prev))
        return;
    memcpy(at, next, strlen(next));
    publish(b, jr, 0, false, false);
}

static void finish(batch *b, job_rt *jr)
{
    b->finished++;
    if (!b->cfg.wait) {
        batch_record(b->out, &jr->tr, false, jr->tr.failed ? "failed" : "submitted", sq_mono_ms());
        if (jr->tr.failed)
            b->failed++;
        return;
    }
    bool ok = sqp_job_succeeded(&jr->tr);
    if (ok)
        b->succeeded++;
    else
        b->failed++;
    batch_record(b->out, &jr->tr, true, ok ? "succeeded" : "failed", sq_mono_ms());
}

/* Do what a started line's facts allow now. */
static void advance(batch *b, job_rt *jr, int64_t now)
{
    for (;;) {
        bool was_live = jr->tr.live;
        sqp_job_action a = sqp_job_next(&jr->tr, &b->cfg, now);
        if (was_live && !jr->tr.live)
            b->live--;
        switch (a) {
        case SQP_JOB_WAIT: return;
        case SQP_JOB_RETRY_CREATE: retry_create(b, jr); break;
        case SQP_JOB_SEND_TASKS:
            for (size_t i = 1; i < jr->nmsgs; i++)
                publish(b, jr, i, false, i + 1 == jr->nmsgs);
            break;
        case SQP_JOB_SEND_KILL: publish(b, jr, jr->nmsgs - 1, false, true); return;
        case SQP_JOB_FINISH: finish(b, jr); return;
        }
    }
}

/* ---- events ---- */

static void on_event(batch *b, const sandq_event *ev)
{
    /* without --wait a raw line's outcome is its acknowledgement by Kafka */
    job_rt *raw = b->cfg.wait ? lookup(b, &b->by_req, ev->request_id) : NULL;
    if (raw)
        sqp_job_apply_raw(&raw->tr, ev);
    job_rt *jr = lookup(b, &b->by_sbx, ev->sandbox_id);
    if (jr)
        sqp_job_apply(&jr->tr, &b->cfg, ev, sq_mono_ms());
}

/* Every job the tracker says needs it (sqp_job_needs_catch_up), in one pass: one
 * subscription on all partitions from the earliest creation among them (createdAt
 * from Redis when reachable, else the partitions' start), read up to the present.
 * Events already applied are dropped by the tracker. */
static void catch_up(batch *b, size_t started, int64_t now)
{
    int64_t since = -1;
    size_t n = 0;
    for (size_t i = 0; i < started; i++) {
        job_rt *jr = &b->jobs[i];
        if (!sqp_job_needs_catch_up(&jr->tr, now))
            continue;
        sandq_sandbox_info info;
        sandq_error err;
        sandq_code rc = sandq_get(b->c, jr->tr.j.sandbox_id, &info, &err);
        if (rc == SANDQ_E_SANDBOX_NOT_FOUND) {
            jr->tr.started_ms = now; /* not created yet (a backlog): look again later */
            continue;
        }
        sqp_job_caught_up(&jr->tr);
        int64_t t = rc == SANDQ_OK && info.created_at > 0 ? info.created_at - BATCH_REPLAY_SLACK_MS : 0;
        if (since < 0 || t < since)
            since = t;
        n++;
    }
    if (!n)
        return;
    sandq_sub_t *sub;
    sandq_error err;
    if (sandq_events_open_since(b->c, NULL, since < 0 ? 0 : since, &sub, &err)) {
        fprintf(stderr, "sandq: batch submit: catching up on %zu jobs: %s\n", n, err.message);
        return;
    }
    int64_t give_up = sq_mono_ms() + 60000;
    sandq_event ev;
    while (!sandq_events_caught_up(sub) && sq_mono_ms() < give_up && !cli_interrupted)
        if (sandq_events_next(sub, 100, &ev, &err) == SANDQ_OK)
            on_event(b, &ev);
    sandq_events_close(sub);
}

/* ---- progress ---- */

static void progress(batch *b, bool tty, bool final, int64_t *last_print)
{
    int64_t now = sq_mono_ms();
    int64_t every = tty ? 200 : 2000;
    if (!final && now - *last_print < every)
        return;
    *last_print = now;
    sqp_progress p = {.total = b->total - b->skipped,
                      .submitted = b->submitted,
                      .running = b->live,
                      .succeeded = b->succeeded,
                      .failed = b->failed,
                      .elapsed_ms = now - b->t0,
                      .waiting = b->cfg.wait};
    double secs = (double)(now - b->t0) / 1000.0;
    uint64_t units = b->cfg.wait ? b->succeeded + b->failed : b->submitted;
    p.rate = secs > 0 ? (double)units / secs : 0;
    char line[512];
    if (tty) {
        sqp_progress_bar(&p, 30, line, sizeof line);
        fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
    } else {
        sqp_progress_line(&p, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

/* ---- the command ---- */

typedef struct batch_args {
    const char *cmd, *path, *output, *salt, *region;
    double rate;
    int64_t job_timeout_ms;
    size_t max_live;
    bool wait, json;
    int linger;
} batch_args;

/* Options and arguments; CLI_EXIT_OK to go on, else the exit code (help included). */
static int parse_args(int argc, char **argv, batch_args *a, bool *help_shown)
{
    *a = (batch_args){.cmd = "batch submit", .salt = "", .job_timeout_ms = 10 * 60 * 1000, .max_live = 50,
                      .linger = 20};
    *help_shown = false;
    const char *cmd = a->cmd;
    double d;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (ch) {
        case O_RATE:
            if (sqp_parse_rate(optarg, &a->rate) < 0)
                return cli_usage(cmd, "bad --rate value \"%s\": expected N/s, N/m or N", optarg);
            break;
        case O_MAX:
            if (cli_number(cmd, "max-sandboxes", optarg, 0, 1e7, &d) < 0)
                return CLI_EXIT_USAGE;
            a->max_live = (size_t)d;
            break;
        case O_WAIT: a->wait = true; break;
        case 'o': a->output = optarg; break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "job-timeout", optarg, &a->job_timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_SALT: a->salt = optarg; break;
        case O_REGION: a->region = optarg; break;
        case O_LINGER:
            if (cli_number(cmd, "linger-ms", optarg, 0, 5000, &d) < 0)
                return CLI_EXIT_USAGE;
            a->linger = (int)d;
            break;
        case O_JSON: a->json = true; break;
        case 'h': fputs(help, stdout); *help_shown = true; return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind >= argc || strcmp(argv[optind], "submit") != 0)
        return cli_usage("batch", optind >= argc ? "missing subcommand: submit"
                                                 : "unknown subcommand: expected submit");
    if (argc - optind != 2)
        return cli_usage(cmd, argc - optind < 2 ? "missing the jobs file (JSONL)" : "too many arguments");
    a->path = argv[optind + 1];
    if (a->region && !sq_region_valid(a->region))
        return cli_usage(cmd, "bad --region value \"%s\": expected three lowercase letters", a->region);
    return CLI_EXIT_OK;
}

/* The indexes that route events to lines; whether any line is a job (not raw). */
static int index_jobs(batch *b, bool *any_job)
{
    if (sqp_index_init(&b->by_sbx, b->njobs, sbx_key, b) < 0 || sqp_index_init(&b->by_req, b->njobs, req_key, b) < 0)
        return -1;
    *any_job = false;
    for (size_t i = 0; i < b->njobs; i++) {
        sqp_index_put(&b->by_sbx, i);
        sqp_index_put(&b->by_req, i);
        if (!b->jobs[i].tr.j.raw)
            *any_job = true;
    }
    return 0;
}

/* Start the lines that --rate and --max-sandboxes allow now, from *next on. */
static void start_lines(batch *b, sqp_rate *rl, size_t *next, int64_t now)
{
    while (*next < b->njobs) {
        job_rt *jr = &b->jobs[*next];
        if (jr->tr.skip) {
            (*next)++;
            continue;
        }
        if (!jr->tr.j.raw && b->max_live && b->live >= b->max_live)
            break;
        if (!sqp_rate_take(rl, now))
            break;
        start_line(b, jr);
        (*next)++;
    }
}

/* Events available now (at most DRAIN_MAX, waiting 20 ms for the first), each
 * applied and its lines advanced. Returns how many. */
static int drain_events(batch *b, int64_t now)
{
    int handled = 0;
    sandq_event ev;
    sandq_error err;
    while (handled < DRAIN_MAX && sandq_events_next(b->sub, handled ? 0 : 20, &ev, &err) == SANDQ_OK) {
        on_event(b, &ev);
        job_rt *jr = lookup(b, &b->by_sbx, ev.sandbox_id);
        if (jr)
            advance(b, jr, now);
        job_rt *raw = lookup(b, &b->by_req, ev.request_id);
        if (raw)
            advance(b, raw, now);
        handled++;
    }
    return handled;
}

/* The loop: start lines, serve deliveries, apply events, and a few times a second
 * flush the results, catch up and scan the started lines (acknowledgements,
 * timeouts). Returns how many lines were started. */
static size_t run(batch *b, double rate)
{
    bool tty = isatty(STDERR_FILENO) == 1;
    sqp_rate rl;
    b->t0 = sq_mono_ms();
    sqp_rate_init(&rl, rate, b->t0);
    int64_t last_print = b->t0, last_scan = b->t0;
    size_t next = 0;
    b->finished = b->skipped;
    while (b->finished < b->total && !cli_interrupted) {
        int64_t now = sq_mono_ms();
        start_lines(b, &rl, &next, now);
        sandq_poll(b->c, 0);
        int handled = 0;
        if (b->sub)
            handled = drain_events(b, now);
        else
            sandq_poll(b->c, 20);
        if (now - last_scan >= 100 || !b->sub) {
            last_scan = now;
            fflush(b->out);
            if (b->sub)
                catch_up(b, next, now);
            for (size_t i = 0; i < next; i++)
                advance(b, &b->jobs[i], now);
        }
        if (!b->sub || next < b->njobs) {
            int64_t w = sqp_rate_wait_ms(&rl, sq_mono_ms());
            if (w > 0 && !handled)
                sandq_poll(b->c, (int)(w < 20 ? w : 20));
        }
        progress(b, tty, false, &last_print);
    }
    /* every published request acknowledged (or failed) before we say anything */
    sandq_error ferr;
    if (sandq_flush(b->c, 30000, &ferr))
        fprintf(stderr, "sandq: batch submit: %s\n", ferr.message);
    sandq_poll(b->c, 0);
    for (size_t i = 0; i < next; i++)
        advance(b, &b->jobs[i], sq_mono_ms());
    progress(b, tty, true, &last_print);
    return next;
}

static int summary(const batch *b, const batch_args *a, const char *output)
{
    int64_t elapsed = sq_mono_ms() - b->t0;
    int rc;
    if (cli_interrupted) {
        fprintf(stderr,
                "sandq: batch submit: interrupted: %llu of %llu lines done; run the same command again to resume\n",
                (unsigned long long)b->finished, (unsigned long long)b->total);
        rc = CLI_EXIT_INTERRUPTED;
    } else {
        rc = b->failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    if (a->json) {
        cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:b}", "total", (json_int_t)b->total,
                                 "skipped", (json_int_t)b->skipped, "submitted", (json_int_t)b->submitted, "succeeded",
                                 (json_int_t)b->succeeded, "failed", (json_int_t)b->failed, "finished",
                                 (json_int_t)b->finished, "elapsedMs", (json_int_t)elapsed, "submitRate",
                                 elapsed > 0 ? (double)b->submitted * 1000.0 / (double)elapsed : 0.0, "output",
                                 output, "interrupted", cli_interrupted ? 1 : 0));
    } else {
        char el[32];
        printf("%llu lines: %llu submitted, %llu succeeded, %llu failed, %llu skipped (already done) in %s; "
               "results in %s\n",
               (unsigned long long)b->total, (unsigned long long)b->submitted, (unsigned long long)b->succeeded,
               (unsigned long long)b->failed, (unsigned long long)b->skipped,
               sqp_format_duration(elapsed, el, sizeof el), output);
    }
    return rc;
}

int cmd_batch(int argc, char **argv)
{
    batch_args a;
    bool help_shown;
    int rc = parse_args(argc, argv, &a, &help_shown);
    if (rc || help_shown)
        return rc;
    const char *cmd = a.cmd;
    sq_env_load_stack_file();
    const char *tenant_env = getenv("SANDQ_TENANT");
    batch b = {.cfg = {.wait = a.wait, .job_timeout_ms = a.job_timeout_ms}, .max_live = a.max_live, .region = a.region};
    rc = batch_read_jobs(&b, a.path, a.salt, tenant_env && *tenant_env ? tenant_env : "default");
    if (rc) {
        batch_free_jobs(&b);
        return rc;
    }
    b.total = b.njobs;
    bool any_job;
    if (index_jobs(&b, &any_job) < 0) {
        batch_free_jobs(&b);
        return cli_io_fail(cmd, a.json, "out of memory");
    }

    char out_default[4096];
    const char *output = a.output;
    if (!output) {
        snprintf(out_default, sizeof out_default, "%s.results.jsonl", strcmp(a.path, "-") == 0 ? "batch" : a.path);
        output = out_default;
    }
    char state_path[4200];
    snprintf(state_path, sizeof state_path, "%s.state", output);
    b.skipped = batch_load_previous(output, a.wait, b.jobs, b.njobs);
    bool resumed;
    int64_t since = batch_replay_since(state_path, &resumed);
    b.out = fopen(output, "a");
    if (!b.out) {
        batch_free_jobs(&b);
        return cli_io_fail(cmd, a.json, "%s: %s", output, strerror(errno));
    }

    sandq_client_opts co = {.struct_size = sizeof co, .client_id = "sandq-batch", .linger_ms = a.linger,
                            .region = a.region};
    sandq_error err;
    b.c = sandq_client_new(&co, &err);
    if (!b.c) {
        fclose(b.out);
        batch_free_jobs(&b);
        return cli_fail(cmd, &err, a.json, CLI_EXIT_FAIL);
    }
    /* One consumer for every sandbox of the file, opened before the first request. */
    if ((any_job || a.wait) && sandq_events_open_since(b.c, NULL, since, &b.sub, &err)) {
        rc = cli_fail(cmd, &err, a.json, CLI_EXIT_FAIL);
    } else {
        if (resumed && b.skipped)
            fprintf(stderr, "sandq: batch submit: resuming: %llu of %llu lines already done (%s)\n",
                    (unsigned long long)b.skipped, (unsigned long long)b.total, output);
        cli_catch_interrupts();
        run(&b, a.rate);
        rc = summary(&b, &a, output);
    }
    sandq_events_close(b.sub);
    sandq_client_free(b.c);
    fclose(b.out);
    batch_free_jobs(&b);
    return rc;
}
