/* sdk_tour.c — drives libsandq's calls against a real stack and worker and prints
 * what each returned as one JSON object; tests/integration/test_sdk.py runs it and
 * checks the answers (and, through the stack, the Redis/PostgreSQL state). Covers
 * the calls the CLI does not exercise on its own: the asynchronous task handles of
 * run_code/exec, sandq_publish with delivery callbacks, sandq_check_request,
 * wait_ready on an ended sandbox (also once a replayed "ready" came after its end),
 * events_open_since. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandq.h"

typedef struct {
    char buf[4096];
    size_t len;
} capture;

static void on_output(void *user, sandq_stream stream, const void *bytes, size_t len)
{
    capture *c = user;
    (void)stream;
    if (c->len + len < sizeof c->buf) {
        memcpy(c->buf + c->len, bytes, len);
        c->len += len;
        c->buf[c->len] = '\0';
    }
}

static int delivered, delivery_failed;

static void on_delivery(void *user, sandq_code code, const char *message)
{
    (void)user;
    (void)message;
    if (code)
        delivery_failed++;
    else
        delivered++;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define CODE(rc) json_string(sandq_code_name(rc))

int main(void)
{
    json_t *out = json_object();
    sandq_error err;
    int64_t t0 = now_ms();
    sandq_client_t *c = sandq_client_new(NULL, &err);
    if (!c) {
        fprintf(stderr, "client: %s\n", err.message);
        return 1;
    }
    sandq_sandbox sb;
    sandq_code rc = sandq_launch(c, NULL, 60000, &sb, &err);
    json_object_set_new(out, "launch", CODE(rc));
    if (rc) {
        fprintf(stderr, "launch: %s\n", err.message);
        return 1;
    }
    json_object_set_new(out, "id", json_string(sb.id));

    /* run_code, synchronous, output through the callback */
    capture cap = {0};
    sandq_code_opts co = {.struct_size = sizeof co, .language = "python", .on_output = on_output, .user = &cap};
    int exit_code = -1;
    rc = sandq_run_code(c, sb.id, "print(6*7)", &co, &exit_code, &err);
    json_object_set_new(out, "run_code", json_pack("{s:o, s:i, s:s}", "code", CODE(rc), "exit", exit_code, "out",
                                                   cap.buf));

    /* run_code and exec, asynchronous: start both, then wait on the handles */
    sandq_code_opts bash = {.struct_size = sizeof bash, .language = "bash"};
    sandq_task_t *t1 = NULL, *t2 = NULL;
    sandq_code r1 = sandq_run_code_start(c, sb.id, "sleep 0.2; exit 3", &bash, &t1, &err);
    capture cap2 = {0};
    const char *argv[] = {"echo", "async", NULL};
    sandq_exec_opts eo = {.struct_size = sizeof eo, .on_output = on_output, .user = &cap2};
    sandq_code r2 = sandq_exec_start(c, sb.id, argv, &eo, &t2, &err);
    sandq_task_result res1 = {0}, res2 = {0};
    int polls = 0;
    if (!r1)
        while ((r1 = sandq_task_wait(t1, 50, &res1, &err)) == SANDQ_E_WAIT_TIMEOUT && polls < 1000)
            polls++;
    if (!r2)
        r2 = sandq_task_wait(t2, 0, &res2, &err);
    json_object_set_new(out, "async", json_pack("{s:o, s:i, s:b, s:o, s:i, s:s}", "code1", CODE(r1), "exit1",
                                                res1.exit_code, "polled", polls > 0, "code2", CODE(r2), "exit2",
                                                res2.exit_code, "out2", cap2.buf));
    sandq_task_free(t1);
    sandq_task_free(t2);

    /* live state */
    sandq_sandbox_info info;
    rc = sandq_get(c, sb.id, &info, &err);
    json_object_set_new(out, "get", json_pack("{s:o, s:s, s:s, s:I}", "code", CODE(rc), "state", info.state,
                                              "worker", info.worker_id, "seq", (json_int_t)info.seq));
    sandq_sandbox_info *list = NULL;
    size_t n = 0;
    sandq_list_opts lo = {.struct_size = sizeof lo, .state = "ready"};
    rc = sandq_list(c, &lo, &list, &n, &err);
    int listed = 0;
    for (size_t i = 0; i < n; i++)
        listed += strcmp(list[i].id, sb.id) == 0;
    sandq_free(list);
    json_object_set_new(out, "list", json_pack("{s:o, s:i}", "code", CODE(rc), "found", listed));

    /* pause / set_timeout: OK on a worker that has them, capability_disabled before */
    rc = sandq_pause(c, sb.id, 0, 10000, &err);
    json_object_set_new(out, "pause", CODE(rc));
    if (rc == SANDQ_OK) {
        rc = sandq_resume(c, sb.id, 10000, NULL, &err);
        json_object_set_new(out, "resume", CODE(rc));
    }
    rc = sandq_set_timeout(c, sb.id, 3600000, 2000, &err);
    json_object_set_new(out, "set_timeout", CODE(rc));

    /* bulk publishing: a files.write envelope, checked, published, flushed */
    char env[512];
    char req[SANDQ_ID_MAX], tsk[SANDQ_ID_MAX];
    sandq_new_sandbox_id(req); /* any fresh ULID will do; fix the prefixes */
    memcpy(req, "req", 3);
    sandq_new_sandbox_id(tsk);
    memcpy(tsk, "tsk", 3);
    snprintf(env, sizeof env,
             "{\"v\":1,\"requestId\":\"%s\",\"type\":\"files.write\",\"sandboxId\":\"%s\",\"taskId\":\"%s\","
             "\"body\":{\"path\":\"published.txt\",\"content\":\"via sandq_publish\"}}",
             req, sb.id, tsk);
    sandq_code chk = sandq_check_request(env, strlen(env), &err);
    rc = sandq_publish(c, env, strlen(env), on_delivery, NULL, &err);
    sandq_code fl = sandq_flush(c, 10000, &err);
    /* the write is ordered before this read on the sandbox's partition */
    void *data = NULL;
    size_t len = 0;
    sandq_code rd = sandq_files_read(c, sb.id, "published.txt", NULL, &data, &len, NULL, &err);
    json_object_set_new(out, "publish", json_pack("{s:o, s:o, s:o, s:i, s:i, s:o, s:s}", "check", CODE(chk), "code",
                                                  CODE(rc), "flush", CODE(fl), "delivered", delivered, "failed",
                                                  delivery_failed, "read", CODE(rd), "content",
                                                  data ? (const char *)data : ""));
    sandq_free(data);
    const char *bad = "{\"v\":1,\"requestId\":\"req_01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"type\":\"task.exec\","
                      "\"sandboxId\":\"sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW\",\"taskId\":\"tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV\","
                      "\"body\":{\"command\":42}}";
    chk = sandq_check_request(bad, strlen(bad), &err);
    json_object_set_new(out, "check_bad", json_pack("{s:o, s:s}", "code", CODE(chk), "field", err.field));

    /* many sandboxes, one consumer: create 20 without waiting, then wait on all */
    enum { MANY = 20 };
    char many_ids[MANY][SANDQ_ID_MAX];
    const char *many[MANY];
    sandq_code many_codes[MANY];
    int created = 0;
    for (int i = 0; i < MANY; i++) {
        sandq_sandbox s2;
        if (sandq_create(c, NULL, &s2, &err) == SANDQ_OK)
            created++;
        snprintf(many_ids[i], sizeof many_ids[i], "%s", s2.id);
        many[i] = many_ids[i];
    }
    sandq_code mrc = sandq_wait_ready_many(c, many, MANY, t0 - 1000, 60000, many_codes, &err);
    int ready = 0, ended = 0;
    for (int i = 0; i < MANY; i++)
        ready += many_codes[i] == SANDQ_OK;
    for (int i = 0; i < MANY; i++)
        sandq_kill(c, many[i], 30000, &err);
    sandq_code mrc2 = sandq_wait_ready_many(c, many, MANY, 0, 30000, many_codes, &err);
    for (int i = 0; i < MANY; i++)
        ended += many_codes[i] == SANDQ_E_SANDBOX_ENDED;
    json_object_set_new(out, "many", json_pack("{s:i, s:o, s:i, s:o, s:i}", "created", created, "code", CODE(mrc),
                                               "ready", ready, "code_after_kill", CODE(mrc2), "ended", ended));

    /* kill; waiting for an ended sandbox to be ready says so */
    rc = sandq_kill(c, sb.id, 30000, &err);
    json_object_set_new(out, "kill", CODE(rc));
    rc = sandq_wait_ready(c, sb.id, 10000, NULL, &err);
    json_object_set_new(out, "wait_ready_after_kill", CODE(rc));

    /* durable history */
    sandq_sandbox_history *h = NULL;
    rc = sandq_history(c, sb.id, &h, &err);
    json_t *types = json_array();
    for (size_t i = 0; h && i < h->count; i++)
        json_array_append_new(types, json_string(h->entries[i].type));
    json_object_set_new(out, "history", json_pack("{s:o, s:o}", "code", CODE(rc), "types", types));
    sandq_history_free(h);

    /* events from a time: everything since the start of this program */
    sandq_sub_t *sub = NULL;
    rc = sandq_events_open_since(c, sb.id, t0 - 1000, &sub, &err);
    int count = 0;
    int64_t first_seq = -1;
    sandq_event ev;
    while (!rc && !sandq_events_caught_up(sub) && count < 10000) {
        if (sandq_events_next(sub, 1000, &ev, &err) == SANDQ_OK && strcmp(ev.sandbox_id, sb.id) == 0) {
            if (first_seq < 0)
                first_seq = ev.seq;
            count++;
        }
    }
    sandq_events_close(sub);
    json_object_set_new(out, "events_since", json_pack("{s:o, s:i, s:I}", "code", CODE(rc), "count", count,
                                                       "first_seq", (json_int_t)first_seq));

    /* a copy of its create, sent after its end, is answered with the create's stored
     * events again — its sandbox.ready among them, now after sandbox.ended: the state
     * is still that of the latest event by seq, ended */
    sandq_sub_t *tail = NULL;
    rc = sandq_events_open(c, sb.id, 0, &tail, &err);
    char dup[512];
    snprintf(dup, sizeof dup, "{\"v\":1,\"requestId\":\"%s\",\"type\":\"sandbox.create\",\"sandboxId\":\"%s\",\"body\":{}}",
             sb.request_id, sb.id);
    if (!rc)
        rc = sandq_publish(c, dup, strlen(dup), NULL, NULL, &err);
    if (!rc)
        rc = sandq_flush(c, 10000, &err);
    int replayed_ready = 0;
    for (int64_t until = now_ms() + 30000; !rc && !replayed_ready && now_ms() < until;)
        if (sandq_events_next(tail, 500, &ev, &err) == SANDQ_OK && strcmp(ev.type, "sandbox.ready") == 0 &&
            strcmp(ev.request_id, sb.request_id) == 0)
            replayed_ready = 1;
    sandq_events_close(tail);
    sandq_code wr = sandq_wait_ready(c, sb.id, 10000, NULL, &err);
    const char *one[1] = {sb.id};
    sandq_code one_code = SANDQ_OK;
    sandq_wait_ready_many(c, one, 1, t0 - 1000, 10000, &one_code, &err);
    json_object_set_new(out, "after_replay", json_pack("{s:o, s:b, s:o, s:o}", "code", CODE(rc), "replayed_ready",
                                                       replayed_ready, "wait_ready", CODE(wr), "wait_ready_many",
                                                       CODE(one_code)));

    char *s = json_dumps(out, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(out);
    sandq_client_free(c);
    return 0;
}
