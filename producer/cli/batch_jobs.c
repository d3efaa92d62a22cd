/* batch_jobs.c — reading the JSONL file of `sandq batch submit`: each line parsed
 * (producer/src/batch.h: a job or a raw envelope, with ids derived from the line),
 * turned into the requests it will send — serialized and checked with the worker's
 * own parser once, here, so a bad line stops the run before anything is sent — and
 * handed to the job tracker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "batch_cli.h"
#include "cli.h"
#include "internal.h"

static int push_msg(job_rt *jr, json_t *env)
{
    char *m = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!m)
        return -1;
    jr->msgs[jr->nmsgs++] = m;
    return 0;
}

static json_t *job_metadata(const sqp_batch_job *j)
{
    json_t *m = j->metadata ? json_deep_copy(j->metadata) : json_object();
    char line[24];
    snprintf(line, sizeof line, "%llu", (unsigned long long)j->line);
    json_object_set_new(m, "batchLine", json_string(line));
    return m;
}

static int build_messages(batch *b, job_rt *jr, const char *tenant)
{
    const sqp_batch_job *j = &jr->tr.j;
    jr->msgs = calloc(j->ntasks + 2, sizeof *jr->msgs);
    jr->ctx = calloc(j->ntasks + 2, sizeof *jr->ctx);
    if (!jr->msgs || !jr->ctx)
        return -1;
    if (j->raw)
        return push_msg(jr, json_incref(j->raw_env));
    json_t *body = json_deep_copy(j->create_body);
    if (b->region && *b->region && !json_object_get(body, "region"))
        json_object_set_new(body, "region", json_string(b->region));
    const json_t *r = json_object_get(body, "region");
    snprintf(jr->region, sizeof jr->region, "%s", json_is_string(r) ? json_string_value(r) : "");
    if (push_msg(jr, sqp_envelope("sandbox.create", j->create_request_id, j->sandbox_id, NULL, tenant, NULL,
                                  job_metadata(j), body)) < 0)
        return -1;
    for (size_t i = 0; i < j->ntasks; i++) {
        const sqp_batch_task *t = &j->tasks[i];
        if (push_msg(jr, sqp_envelope(t->type, t->request_id, j->sandbox_id, t->task_id, tenant, NULL,
                                      job_metadata(j), json_deep_copy(t->body))) < 0)
            return -1;
    }
    /* inOrder: the kill takes its turn behind the job's tasks (a plain kill
     * would stop the running one at once). */
    if (!j->keep)
        return push_msg(jr, sqp_envelope("sandbox.kill", j->kill_request_id, j->sandbox_id, NULL, tenant, NULL,
                                         job_metadata(j), json_pack("{s:b}", "inOrder", 1)));
    return 0;
}

int batch_read_jobs(batch *b, const char *path, const char *salt, const char *tenant)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return cli_io_fail("batch submit", false, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, jcap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (b->njobs == jcap) {
            jcap = jcap ? jcap * 2 : 1024;
            job_rt *v = realloc(b->jobs, jcap * sizeof *v);
            if (!v) {
                rc = cli_io_fail("batch submit", false, "out of memory");
                break;
            }
            b->jobs = v;
        }
        job_rt *jr = &b->jobs[b->njobs];
        memset(jr, 0, sizeof *jr);
        char errbuf[256];
        sqp_batch_job parsed;
        memset(&parsed, 0, sizeof parsed);
        sqp_line_kind k = sqp_batch_parse_line(line, len, lineno, salt, tenant, &parsed, errbuf, sizeof errbuf);
        if (k == SQP_LINE_SKIP)
            continue;
        if (k == SQP_LINE_ERROR) {
            fprintf(stderr, "sandq: batch submit: %s:%llu: %s\n", path, (unsigned long long)lineno, errbuf);
            rc = CLI_EXIT_USAGE;
            continue; /* report every bad line, send nothing */
        }
        if (sqp_job_init(&jr->tr, &parsed) < 0 || build_messages(b, jr, tenant) < 0) {
            rc = cli_io_fail("batch submit", false, "out of memory");
            break;
        }
        /* the serialized requests are all that is sent: drop the parsed JSON */
        sqp_batch_job *j = &jr->tr.j;
        json_decref(j->raw_env);
        json_decref(j->create_body);
        json_decref(j->metadata);
        j->raw_env = j->create_body = j->metadata = NULL;
        for (size_t t = 0; t < j->ntasks; t++) {
            json_decref(j->tasks[t].body);
            j->tasks[t].body = NULL;
        }
        b->njobs++;
        sandq_error cerr;
        for (size_t m = 0; m < jr->nmsgs; m++) {
            if (sandq_check_request(jr->msgs[m], strlen(jr->msgs[m]), &cerr) == SANDQ_OK)
                continue;
            fprintf(stderr, "sandq: batch submit: %s:%llu: %s: %s%s%s%s\n", path, (unsigned long long)lineno,
                    sandq_code_name(cerr.code), cerr.message, cerr.field[0] ? " (field " : "", cerr.field,
                    cerr.field[0] ? ")" : "");
            rc = CLI_EXIT_USAGE;
            break;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

void batch_free_jobs(batch *b)
{
    for (size_t i = 0; i < b->njobs; i++) {
        job_rt *jr = &b->jobs[i];
        sqp_job_free(&jr->tr);
        for (size_t m = 0; m < jr->nmsgs; m++)
            free(jr->msgs[m]);
        free(jr->msgs);
        free(jr->ctx);
    }
    free(b->jobs);
    sqp_index_free(&b->by_sbx);
    sqp_index_free(&b->by_req);
}

