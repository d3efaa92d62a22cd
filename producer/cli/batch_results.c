/* batch_results.c — the files `sandq batch submit` leaves behind: the results JSONL
 * (one line per job, appended as jobs finish; read back to skip lines already done
 * when the same command runs again) and `<output>.state`, which remembers when the
 * first run started so a resumed run re-reads the events of jobs in flight. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "batch_cli.h"
#include "sq/clock.h"
#include "sq/codec.h"

static json_t *text_json(const sqp_outbuf *s)
{
    return json_stringn(s->p ? s->p : "", s->len) ?: json_string("(not UTF-8)");
}

static json_t *task_json(const sqp_job_track *jt, size_t i)
{
    const sqp_task_track *t = &jt->t[i];
    json_t *to = json_pack("{s:s, s:s, s:s}", "taskId", jt->j.tasks[i].task_id, "type", jt->j.tasks[i].type, "status",
                           sqp_task_status_name(t->status));
    if (t->status == SQP_TASK_COMPLETED && t->exit_code >= 0)
        json_object_set_new(to, "exitCode", json_integer(t->exit_code));
    if (t->status != SQP_TASK_PENDING) {
        json_object_set_new(to, "stdout", text_json(&t->out[0]));
        json_object_set_new(to, "stderr", text_json(&t->out[1]));
    }
    if (t->out[0].truncated || t->out[1].truncated)
        json_object_set_new(to, "truncated", json_true());
    if (t->result)
        json_object_set(to, "result", t->result);
    if (t->status == SQP_TASK_FAILED)
        json_object_set_new(to, "error", json_pack("{s:s, s:s}", "code", t->code, "message", t->message));
    return to;
}

void batch_record(FILE *out, const sqp_job_track *jt, bool wait, const char *status, int64_t now)
{
    if (!out)
        return;
    if (!wait && !jt->failed) {
        /* the common line at volume, without a JSON library round trip: every field is
         * an id, a type name or a fixed word (no escaping needed) */
        if (jt->j.raw)
            fprintf(out, "{\"line\":%llu,\"sandboxId\":\"%s\",\"status\":\"%s\",\"type\":\"%s\",\"requestId\":\"%s\"}\n",
                    (unsigned long long)jt->j.line, jt->j.sandbox_id, status, jt->j.raw_type, jt->j.raw_request_id);
        else
            fprintf(out, "{\"line\":%llu,\"sandboxId\":\"%s\",\"status\":\"%s\"}\n", (unsigned long long)jt->j.line,
                    jt->j.sandbox_id, status);
        return;
    }
    json_t *o = json_pack("{s:I, s:s, s:s}", "line", (json_int_t)jt->j.line, "sandboxId", jt->j.sandbox_id, "status",
                          status);
    if (jt->j.raw) {
        json_object_set_new(o, "type", json_string(jt->j.raw_type));
        json_object_set_new(o, "requestId", json_string(jt->j.raw_request_id));
        if (jt->raw_event[0])
            json_object_set_new(o, "event", json_string(jt->raw_event));
    }
    if (jt->failed)
        json_object_set_new(o, "error", json_pack("{s:s, s:s}", "code", jt->fail_code, "message", jt->fail_msg));
    if (wait && !jt->j.raw) {
        json_t *tasks = json_array();
        for (size_t i = 0; i < jt->j.ntasks; i++)
            json_array_append_new(tasks, task_json(jt, i));
        json_object_set_new(o, "tasks", tasks);
        json_object_set_new(o, "durationMs", json_integer(now - jt->started_ms));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s) {
        fputs(s, out);
        fputc('\n', out);
        free(s);
        /* flushed by the main loop every 100 ms and at exit: a crash loses at most
         * those lines, whose jobs a re-run then redoes as duplicates (no effect) */
    }
}

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* batch_read_jobs appends jobs in file order, one per line, so their line numbers
 * ascend strictly: a binary search keeps resuming a run of millions of lines linear
 * in the results file instead of quadratic. */
static job_rt *job_by_line(job_rt *jobs, size_t njobs, uint64_t line)
{
    size_t lo = 0, hi = njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t l = jobs[mid].tr.j.line;
        if (l == line)
            return &jobs[mid];
        if (l < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint64_t batch_load_previous(const char *path, bool wait, job_rt *jobs, size_t njobs)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t skipped = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *o = json_loadb(line, (size_t)n, 0, NULL);
        const json_t *ln = json_object_get(o, "line");
        const char *st = str_of(o, "status");
        const char *sbx = str_of(o, "sandboxId");
        bool final = strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0;
        if (json_is_integer(ln) && (final || !wait)) {
            job_rt *jr = job_by_line(jobs, njobs, (uint64_t)json_integer_value(ln));
            if (jr && strcmp(jr->tr.j.sandbox_id, sbx) == 0 && !jr->tr.skip) {
                jr->tr.skip = true;
                jr->tr.phase = SQP_JOB_FINISHED;
                skipped++;
            }
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return skipped;
}

int64_t batch_replay_since(const char *state_path, bool *resumed)
{
    *resumed = false;
    FILE *f = fopen(state_path, "r");
    if (f) {
        json_t *o = json_loadf(f, 0, NULL);
        fclose(f);
        const json_t *v = json_object_get(o, "startedAt");
        int64_t t = json_is_integer(v) ? json_integer_value(v) : -1;
        json_decref(o);
        if (t > 0) {
            *resumed = true;
            return t - BATCH_REPLAY_SLACK_MS;
        }
    }
    int64_t now = sq_now_ms();
    f = fopen(state_path, "w");
    if (f) {
        fprintf(f, "{\"startedAt\":%lld}\n", (long long)now);
        fclose(f);
    }
    return now - 1000;
}
