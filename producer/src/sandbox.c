/* sandbox.c — the sandbox lifecycle calls: create (publish, return on the broker's
 * acknowledgement), launch (create + wait for sandbox.ready), wait_ready and kill.
 * Lifecycle events carry data.state (PROTOCOL.md); a sandbox's state is the state of
 * its latest lifecycle event — latest by seq, not by arrival: a duplicate request is
 * answered with its stored events again, so an old "ready" can arrive after "ended". */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/murmur2.h"
#include "ulid_time.h"

/* How far before the time in a sandbox id wait_ready starts reading, for clocks that
 * disagree between the client that made the id and the worker. */
#define ID_CLOCK_SLACK_MS (2 * 60 * 1000)

static const char *root_str(const sq_event *ev, const char *key)
{
    const json_t *v = json_object_get(ev->root, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static const char *data_state(const sq_event *ev)
{
    const json_t *v = json_object_get(ev->data, "state");
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void note_placement(sandq_sandbox *out, const sq_event *ev)
{
    if (!out)
        return;
    const char *region = root_str(ev, "region");
    const char *worker = root_str(ev, "workerId");
    const json_t *dr = json_object_get(ev->data, "region");
    const json_t *dw = json_object_get(ev->data, "workerId");
    if (json_is_string(dr))
        region = json_string_value(dr);
    if (json_is_string(dw))
        worker = json_string_value(dw);
    if (*region)
        snprintf(out->region, sizeof out->region, "%s", region);
    if (*worker)
        snprintf(out->worker_id, sizeof out->worker_id, "%s", worker);
}

/* Where the sandbox's events go and where that partition ends now. */
static sandq_code events_position(sandq_client_t *c, const char *sandbox_id, int64_t deadline, int32_t *partition,
                                  int64_t *hw, sandq_error *err)
{
    rd_kafka_t *rk = sqp_consumer_get(c, err);
    if (!rk)
        return err ? err->code : SANDQ_E_KAFKA;
    int32_t n;
    sandq_code rc = sqp_events_partitions(c, rk, deadline, &n, err);
    if (!rc) {
        *partition = sq_partition_for_key(sandbox_id, strlen(sandbox_id), n);
        int64_t lo, hi;
        rc = sqp_events_offsets(c, rk, *partition, deadline, &lo, &hi, err);
        if (!rc)
            *hw = hi;
    }
    sqp_consumer_put(c, rk);
    return rc;
}

/* Validate options, publish sandbox.create. With w non-NULL, a waiter is opened on
 * the sandbox's partition before publishing (for launch). */
static sandq_code do_create(sandq_client_t *c, const sandq_create_opts *opts, int64_t deadline, sqp_waiter *w,
                            sandq_sandbox *out, sandq_error *err)
{
    sandq_create_opts copy;
    if (sqp_opts_copy(&copy, sizeof copy, opts, "sandq_create_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    const sandq_create_opts *o = &copy;
    sandq_sandbox info = {0};
    if (o->sandbox_id) {
        if (!sq_id_valid(o->sandbox_id, "sbx"))
            return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id (sbx_ + 26-character ULID)",
                            o->sandbox_id);
        snprintf(info.id, sizeof info.id, "%s", o->sandbox_id);
    } else {
        sq_id_new("sbx", info.id);
    }
    const char *region = o->region ? o->region : c->region;
    if (*region && !sq_region_valid(region))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "region \"%s\" is not three lowercase letters", region);
    snprintf(info.region, sizeof info.region, "%s", region);

    json_t *body = sqp_body_create(o, region, err);
    if (!body)
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    json_t *metadata = sqp_kv_object(o->metadata, "metadata", err);
    if (!metadata) {
        json_decref(body);
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    }

    int32_t partition = -1;
    int64_t start = -1;
    sandq_code rc;
    if (w) {
        rc = sqp_waiter_open(c, info.id, SQP_START_END, deadline, w, err);
        partition = w->partition;
        start = w->start;
    } else {
        rc = events_position(c, info.id, deadline, &partition, &start, err);
    }
    if (rc) {
        json_decref(body);
        json_decref(metadata);
        return rc;
    }
    /* Remember the topic before producing, so a concurrent request for this sandbox
     * from another thread already follows it. */
    sqp_known_put(c, info.id, region, partition, start);

    sq_id_new("req", info.request_id);
    json_t *env = sqp_envelope("sandbox.create", info.request_id, info.id, NULL, c->tenant, o->reply_to, metadata,
                               body);
    char topic[SQ_TOPIC_MAX];
    sq_topic_requests(c->prefix, region, topic);
    rc = sqp_produce(c, topic, info.id, env, deadline, err);
    json_decref(env);
    if (rc) {
        if (err && !err->request_id[0])
            snprintf(err->request_id, sizeof err->request_id, "%s", info.request_id);
        if (w)
            sqp_waiter_close(w);
        return rc;
    }
    snprintf(info.state, sizeof info.state, "queued");
    if (out)
        *out = info;
    return SANDQ_OK;
}

/* What create, launch and wait_ready do first: err cleared, out zeroed, a client. */
static sandq_code begin_call(const sandq_client_t *c, sandq_sandbox *out, sandq_error *err)
{
    sqp_err_clear(err);
    if (out)
        memset(out, 0, sizeof *out);
    return c ? SANDQ_OK : sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
}

sandq_code sandq_create(sandq_client_t *c, const sandq_create_opts *opts, sandq_sandbox *out, sandq_error *err)
{
    sandq_code rc0 = begin_call(c, out, err);
    if (rc0)
        return rc0;
    return do_create(c, opts, sqp_deadline(c, 0), NULL, out, err);
}

/* launch: its own create's sandbox.ready, or a rejection of it, or the sandbox's end. */
typedef struct {
    sandq_sandbox *info;
    char last_state[16];
} launch_call;

static void launch_describe(sqp_follow *f, char *what, size_t len)
{
    const launch_call *l = f->user;
    if (*l->last_state)
        snprintf(what, len, "waiting for sandbox %s to be ready (last state: %s)", l->info->id, l->last_state);
    else
        snprintf(what, len, "waiting for sandbox %s to be ready (no worker answered: is sandq-worker running?)",
                 l->info->id);
}

static bool launch_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    launch_call *l = f->user;
    if (!ev)
        return false;
    bool rejected = strcmp(ev->type, "request.rejected") == 0 && strcmp(ev->request_id, l->info->request_id) == 0;
    if (rejected || strcmp(ev->type, "sandbox.failed") == 0 || strcmp(ev->type, "sandbox.ended") == 0) {
        *rc = sqp_fail_from_event(err, ev);
        return true;
    }
    if (strcmp(ev->type, "sandbox.assigned") == 0 || strcmp(ev->type, "sandbox.ready") == 0)
        note_placement(l->info, ev);
    const char *st = data_state(ev);
    if (st && !ev->task_id[0])
        snprintf(l->last_state, sizeof l->last_state, "%s", st);
    /* Its own create's ready: a replay of an older request's (a sandbox id given
     * in opts that already existed) is not an answer to this one. */
    if (strcmp(ev->type, "sandbox.ready") == 0 && strcmp(ev->request_id, l->info->request_id) == 0) {
        snprintf(l->info->state, sizeof l->info->state, "ready");
        *rc = SANDQ_OK;
        return true;
    }
    return false;
}

sandq_code sandq_launch(sandq_client_t *c, const sandq_create_opts *opts, int64_t timeout_ms, sandq_sandbox *out,
                        sandq_error *err)
{
    sandq_code rc0 = begin_call(c, out, err);
    if (rc0)
        return rc0;
    int64_t started = sq_mono_ms();
    int64_t deadline = sqp_deadline(c, timeout_ms);
    sandq_sandbox info;
    sqp_waiter w;
    sandq_code rc = do_create(c, opts, deadline, &w, &info, err);
    if (rc)
        return rc;
    launch_call l = {&info, ""};
    sqp_follow f = {.deadline = deadline, .started = started, .request_id = info.request_id,
                    .on_event = launch_event, .describe = launch_describe, .user = &l};
    rc = sqp_follow_events(c, &w, &f, err);
    sqp_waiter_close(&w);
    if (rc == SANDQ_OK && out)
        *out = info;
    return rc;
}

typedef enum { PHASE_WAITING, PHASE_READY, PHASE_GONE } ready_phase;

static ready_phase phase_of(const char *state)
{
    if (!state)
        return PHASE_WAITING;
    if (strcmp(state, "ready") == 0 || strcmp(state, "active") == 0)
        return PHASE_READY;
    if (strcmp(state, "failed") == 0 || strcmp(state, "ending") == 0 || strcmp(state, "ended") == 0)
        return PHASE_GONE;
    return PHASE_WAITING; /* queued, assigning, pausing, paused: it may still get there */
}

/* wait_ready: the state of the lifecycle event with the highest seq, decided only
 * once everything published before the call has been read. */
typedef struct {
    sqp_waiter *w;
    sandq_sandbox info;
    char state[16];
    int64_t state_seq;  /* seq of the lifecycle event that set it */
    sandq_error gone;   /* the event that ended or failed it */
} ready_call;

static void ready_describe(sqp_follow *f, char *what, size_t len)
{
    const ready_call *r = f->user;
    snprintf(what, len, "waiting for sandbox %s to be ready (state: %s)", r->info.id, *r->state ? r->state : "unknown");
}

static bool ready_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    ready_call *r = f->user;
    if (ev) {
        const char *s = data_state(ev);
        if (s && strncmp(ev->type, "sandbox.", 8) == 0 && !ev->task_id[0] && ev->seq > r->state_seq) {
            r->state_seq = ev->seq;
            snprintf(r->state, sizeof r->state, "%s", s);
            note_placement(&r->info, ev);
            if (phase_of(s) == PHASE_GONE)
                sqp_fail_from_event(&r->gone, ev);
        }
    }
    /* History first: decide only once everything published before this call has
     * been read, so an old "ready" does not hide a later "ended". */
    if (!sqp_waiter_caught_up(r->w))
        return false;
    ready_phase ph = phase_of(*r->state ? r->state : NULL);
    if (ph == PHASE_READY) {
        *rc = SANDQ_OK;
        return true;
    }
    if (ph == PHASE_GONE) {
        *rc = r->gone.code ? r->gone.code : SANDQ_E_SANDBOX_ENDED;
        if (err)
            *err = r->gone;
        return true;
    }
    return false;
}

sandq_code sandq_wait_ready(sandq_client_t *c, const char *sandbox_id, int64_t timeout_ms, sandq_sandbox *out,
                            sandq_error *err)
{
    sandq_code rc0 = begin_call(c, out, err);
    if (rc0)
        return rc0;
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    int64_t started = sq_mono_ms();
    int64_t deadline = sqp_deadline(c, timeout_ms);

    /* To know the current state, read the sandbox's events from before its create:
     * exactly, if this client sent the create; else from shortly before the time in
     * its id (ids are made by the client just before the create). */
    int64_t start;
    sqp_known k;
    int64_t id_ms;
    if (sqp_known_get(c, sandbox_id, &k) && k.start >= 0)
        start = k.start;
    else if (sqp_id_time_ms(sandbox_id, &id_ms) == 0)
        start = SQP_START_AT_TIME(id_ms > ID_CLOCK_SLACK_MS ? id_ms - ID_CLOCK_SLACK_MS : 0);
    else
        start = SQP_START_END;

    sqp_waiter w;
    sandq_code rc = sqp_waiter_open(c, sandbox_id, start, deadline, &w, err);
    if (rc)
        return rc;
    ready_call r = {.w = &w};
    snprintf(r.info.id, sizeof r.info.id, "%s", sandbox_id);
    sqp_err_clear(&r.gone);
    sqp_follow f = {.deadline = deadline, .started = started, .on_event = ready_event, .describe = ready_describe,
                    .user = &r};
    rc = sqp_follow_events(c, &w, &f, err);
    sandq_sandbox info = r.info;
    const char *state = r.state;
    sqp_waiter_close(&w);
    if (rc == SANDQ_OK && out) {
        snprintf(info.state, sizeof info.state, "%s", state);
        *out = info;
    }
    return rc;
}

/* kill: sandbox.ended, or a rejection of the kill, or sandbox.failed. */
typedef struct {
    const char *sandbox_id, *request_id;
} kill_call;

static void kill_describe(sqp_follow *f, char *what, size_t len)
{
    const kill_call *k = f->user;
    snprintf(what, len, "waiting for sandbox %s to end", k->sandbox_id);
}

static bool kill_event(sqp_follow *f, const sq_event *ev, sandq_code *rc, sandq_error *err)
{
    const kill_call *k = f->user;
    if (!ev)
        return false;
    bool rejected = strcmp(ev->type, "request.rejected") == 0 && strcmp(ev->request_id, k->request_id) == 0;
    *rc = SANDQ_OK;
    if (rejected || strcmp(ev->type, "sandbox.failed") == 0)
        *rc = sqp_fail_from_event(err, ev);
    return rejected || strcmp(ev->type, "sandbox.ended") == 0 || *rc;
}

sandq_code sandq_kill(sandq_client_t *c, const char *sandbox_id, int64_t timeout_ms, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client is NULL");
    int64_t started = sq_mono_ms();
    char request_id[SQ_ID_MAX] = "";
    kill_call k = {sandbox_id, request_id};
    sqp_follow f = {.deadline = sqp_deadline(c, timeout_ms), .started = started, .request_id = request_id,
                    .on_event = kill_event, .describe = kill_describe, .user = &k};
    return sqp_send_follow(c, sandbox_id, "sandbox.kill", NULL, json_object(), &f, request_id, err);
}
