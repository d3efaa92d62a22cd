/* redis_store.c — hiredis adapter for live state (see redis_store.h). */
#include "store/redis_store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq/clock.h"
#include "sq/log.h"
#include "util/backoff.h"

/* Commands whose answer nobody waits for (task and lifetime fields), kept per
 * thread and sent ahead of that thread's next command, on the same connection
 * and in the same round trip. Redis runs a connection's commands in order, so
 * they take effect before that command — and so before the event it numbers
 * is produced; an error in one becomes that command's error (its caller
 * retries, and these writes are idempotent). */
#define DEFER_MAX 64

typedef struct deferred {
    char *cmd[DEFER_MAX];
    long long len[DEFER_MAX];
    int n;
} deferred;

static __thread deferred later;

static void later_clear(void)
{
    for (int i = 0; i < later.n; i++)
        redisFreeCommand(later.cmd[i]);
    later.n = 0;
}

/* One round trip on a pooled connection: the thread's deferred commands, then
 * `cmd` (formatted, may be NULL). A broken connection is re-opened and the lot
 * retried with back-off for up to SANDQ_STORE_RETRY_MS: a Redis restart then
 * stalls the sandboxes that need it instead of failing their requests half-way
 * (what runs keeps running; the rest waits). Returns cmd's reply (NULL on an
 * error, with err set), or for cmd == NULL a non-NULL token on success. */
static redisReply *roundtrip(sq_worker *w, sq_err *err, const char *cmd, long long len)
{
    static redisReply ok_token;
    sq_store_conn *c = sq_pool_acquire(&w->pool);
    redisReply *r = NULL;
    bool done = false;
    int64_t give_up = sq_mono_ms() + w->cfg.store_retry_ms;
    sq_backoff wait = sq_backoff_make(50, 2000);
    char deferred_err[200] = "";
    for (int attempt = 0; !done; attempt++) {
        if (sq_pool_redis(&w->pool, c, err) == 0) {
            for (int i = 0; i < later.n; i++)
                redisAppendFormattedCommand(c->redis, later.cmd[i], (size_t)later.len[i]);
            if (cmd)
                redisAppendFormattedCommand(c->redis, cmd, (size_t)len);
            int want = later.n + (cmd ? 1 : 0), got = 0;
            deferred_err[0] = '\0';
            for (; got < want; got++) {
                redisReply *one = NULL;
                if (redisGetReply(c->redis, (void **)&one) != REDIS_OK || !one)
                    break;
                if (got < later.n) {
                    if (one->type == REDIS_REPLY_ERROR && !deferred_err[0])
                        snprintf(deferred_err, sizeof deferred_err, "%s", one->str);
                    freeReplyObject(one);
                } else {
                    r = one;
                }
            }
            if (got == want) {
                done = true;
                break;
            }
            sq_warn(NULL, "redis connection lost (%s); reconnecting", c->redis->errstr);
            sq_pool_drop_redis(c);
            sq_err_set(err, SQ_INTERNAL, "redis unavailable");
        } else if (attempt == 0) {
            sq_warn(NULL, "%s; retrying", err->msg);
        }
        if (sq_mono_ms() >= give_up || atomic_load(&w->stopping))
            break;
        sq_sleep_ms(sq_backoff_next(&wait));
    }
    sq_pool_release(&w->pool, c);
    if (!done)
        return NULL; /* the deferred commands stay queued for the next try */
    later_clear();
    if (deferred_err[0]) {
        if (r)
            freeReplyObject(r);
        sq_err_set(err, SQ_INTERNAL, "redis: %s", deferred_err);
        return NULL;
    }
    if (r && r->type == REDIS_REPLY_ERROR) {
        sq_err_set(err, SQ_INTERNAL, "redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return cmd ? r : &ok_token;
}

/* Run a command (its deferred predecessors go along) and return its reply. */
static redisReply *cmd(sq_worker *w, sq_err *err, const char *fmt, ...)
{
    char *c = NULL;
    va_list ap;
    va_start(ap, fmt);
    long long len = redisvFormatCommand(&c, fmt, ap);
    va_end(ap);
    if (len < 0) {
        sq_err_set(err, SQ_INTERNAL, "redis: cannot format a command");
        return NULL;
    }
    redisReply *r = roundtrip(w, err, c, len);
    redisFreeCommand(c);
    return r;
}

/* Queue a command for the thread's next round trip (sent now if the queue is full). */
static int defer(sq_worker *w, sq_err *err, const char *fmt, ...)
{
    if (later.n == DEFER_MAX && sq_redis_flush(w, err) < 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    long long len = redisvFormatCommand(&later.cmd[later.n], fmt, ap);
    va_end(ap);
    if (len < 0)
        return sq_err_set(err, SQ_INTERNAL, "redis: cannot format a command");
    later.len[later.n++] = len;
    return 0;
}

int sq_redis_flush(sq_worker *w, sq_err *err)
{
    if (later.n == 0)
        return 0;
    return roundtrip(w, err, NULL, 0) ? 0 : -1;
}

void sq_redis_forget_deferred(void) { later_clear(); }

static int simple(redisReply *r)
{
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

int sq_redis_sandbox_lookup(sq_worker *w, const char *sandbox_id, sq_redis_sandbox *out, sq_err *err)
{
    memset(out, 0, sizeof *out);
    redisReply *r = cmd(w, err, "HMGET sandq:{%s}:sandbox state tenant region replyTo workerId epoch persisted "
                                "checkpointId persistReason autoCheckpoint", sandbox_id);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 10) {
        if (r->element[8]->type == REDIS_REPLY_STRING)
            snprintf(out->persist_reason, sizeof out->persist_reason, "%s", r->element[8]->str);
        out->auto_checkpoint = r->element[9]->type == REDIS_REPLY_STRING && strcmp(r->element[9]->str, "1") == 0;
        out->persisted = r->element[6]->type == REDIS_REPLY_STRING && strcmp(r->element[6]->str, "1") == 0;
        if (r->element[7]->type == REDIS_REPLY_STRING)
            snprintf(out->checkpoint_id, sizeof out->checkpoint_id, "%s", r->element[7]->str);
        if (r->element[5]->type == REDIS_REPLY_STRING)
            out->epoch = strtoll(r->element[5]->str, NULL, 10);
        if (r->element[0]->type == REDIS_REPLY_STRING)
            out->state = sq_state_from_name(r->element[0]->str);
        char *dst[] = {out->tenant, out->region, out->reply_to, out->worker_id};
        size_t sz[] = {sizeof out->tenant, sizeof out->region, sizeof out->reply_to, sizeof out->worker_id};
        for (int i = 0; i < 4; i++)
            if (r->element[i + 1]->type == REDIS_REPLY_STRING)
                snprintf(dst[i], sz[i], "%s", r->element[i + 1]->str);
    }
    freeReplyObject(r);
    return 0;
}

int sq_redis_sandbox_create(sq_worker *w, const sq_live_sandbox *sb, const char *runtime, sq_err *err)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)sq_now_ms());
    /* HSETNX on `id` first: two creates of one id must not both succeed. */
    redisReply *r = cmd(w, err, "HSETNX sandq:{%s}:sandbox id %s", sb->id, sb->id);
    if (!r)
        return -1;
    long long created = r->integer;
    freeReplyObject(r);
    if (!created)
        return sq_err_set(err, SQ_SANDBOX_EXISTS, "a sandbox with this id already exists");
    if (simple(cmd(w, err,
                   "HSET sandq:{%s}:sandbox state queued previous %s tenant %s region %s workerId %s replyTo %s "
                   "runtime %s createdAt %s updatedAt %s epoch 1",
                   sb->id, "", sb->tenant, sb->region, w->cfg.worker_id, sb->reply_to, runtime, now, now)) < 0)
        return -1;
    if (simple(cmd(w, err, "SADD sandq:worker:{%s}:sandboxes %s", w->cfg.worker_id, sb->id)) < 0)
        return -1;
    return simple(cmd(w, err, "ZADD sandq:sandboxes %s %s", now, sb->id));
}

/* The owner lease's fence: a state write carries the writer's epoch and is
 * refused if the sandbox was taken over since (the epoch moved on). */
static const char set_state_lua[] =
    "local e = redis.call('HGET', KEYS[1], 'epoch')\n"
    "if e ~= ARGV[1] then return redis.error_reply('FENCED') end\n"
    "redis.call('HSET', KEYS[1], 'state', ARGV[2], 'previous', ARGV[3], 'updatedAt', ARGV[4])\n"
    "if ARGV[5] ~= '0' then\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
    "  redis.call('SREM', KEYS[2], ARGV[6])\n"
    "end\n"
    "return redis.call('HINCRBY', KEYS[1], 'seq', 1)\n";

int sq_redis_sandbox_set_state(sq_worker *w, const char *sandbox_id, int64_t epoch, sq_state state,
                               sq_state previous, int64_t *seq, sq_err *err)
{
    char now[32], ep[32], ttl[32], key[128], owned[200];
    snprintf(now, sizeof now, "%lld", (long long)sq_now_ms());
    snprintf(ep, sizeof ep, "%lld", (long long)epoch);
    /* Ended sandboxes stay readable for a while (get; late requests get
     * invalid_state rather than sandbox_not_found), then expire; PostgreSQL
     * keeps the history. */
    snprintf(ttl, sizeof ttl, "%lld", sq_state_is_terminal(state) ? (long long)w->cfg.ended_ttl_s : 0LL);
    snprintf(key, sizeof key, "sandq:{%s}:sandbox", sandbox_id);
    snprintf(owned, sizeof owned, "sandq:worker:{%s}:sandboxes", w->cfg.worker_id);
    const char *prev = sq_state_name(previous);
    redisReply *r = cmd(w, err, "EVAL %s 2 %s %s %s %s %s %s %s %s", set_state_lua, key, owned, ep,
                        sq_state_name(state), prev ? prev : "", now, ttl, sandbox_id);
    if (!r) {
        if (strstr(err->msg, "FENCED")) {
            err->sys_errno = ESTALE;
            snprintf(err->msg, sizeof err->msg, "sandbox %s was taken over by another worker (epoch %lld is stale)",
                     sandbox_id, (long long)epoch);
        }
        return -1;
    }
    *seq = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

/* Take over a sandbox whose worker is gone: only if it is still live and
 * still recorded as `expected_worker`'s. Bumps the epoch (fencing the old
 * owner out) and returns it; 0 when someone else got there first. */
static const char claim_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st or st == 'ended' or st == 'failed' then return 0 end\n"
    "if redis.call('HGET', KEYS[1], 'workerId') ~= ARGV[1] then return 0 end\n"
    "local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)\n"
    "redis.call('HSET', KEYS[1], 'workerId', ARGV[2])\n"
    "return e\n";

int sq_redis_sandbox_claim(sq_worker *w, const char *sandbox_id, const char *expected_worker, int64_t *epoch,
                           sq_err *err)
{
    char key[128];
    snprintf(key, sizeof key, "sandq:{%s}:sandbox", sandbox_id);
    redisReply *r = cmd(w, err, "EVAL %s 1 %s %s %s", claim_lua, key, expected_worker, w->cfg.worker_id);
    if (!r)
        return -1;
    *epoch = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

static const char persisted_lua[] =
    "if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return redis.error_reply('FENCED') end\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('HSET', KEYS[1], 'persisted', '1', 'checkpointId', ARGV[3], 'workerId', '', 'persistReason', ARGV[5])\n"
    "  redis.call('SREM', KEYS[2], ARGV[4])\n"
    "else\n"
    "  redis.call('HSET', KEYS[1], 'persisted', '0')\n"
    "end\n"
    "return 1\n";

int sq_redis_sandbox_persisted(sq_worker *w, const char *sandbox_id, int64_t epoch, bool persisted,
                               const char *checkpoint_id, const char *reason, sq_err *err)
{
    char key[128], owned[200], ep[32];
    snprintf(key, sizeof key, "sandq:{%s}:sandbox", sandbox_id);
    snprintf(owned, sizeof owned, "sandq:worker:{%s}:sandboxes", w->cfg.worker_id);
    snprintf(ep, sizeof ep, "%lld", (long long)epoch);
    redisReply *r = cmd(w, err, "EVAL %s 2 %s %s %s %s %s %s %s", persisted_lua, key, owned, ep, persisted ? "1" : "0",
                        checkpoint_id ? checkpoint_id : "", sandbox_id, reason ? reason : "");
    if (!r) {
        if (strstr(err->msg, "FENCED"))
            err->sys_errno = ESTALE;
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

/* A crashed worker's auto-checkpointed sandbox: still that worker's and
 * live, it becomes a persisted sandbox no worker holds (epoch bumped, so a
 * late write of the dead worker is fenced). */
static const char crash_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st or st == 'ended' or st == 'failed' then return 0 end\n"
    "if redis.call('HGET', KEYS[1], 'workerId') ~= ARGV[1] then return 0 end\n"
    "redis.call('HINCRBY', KEYS[1], 'epoch', 1)\n"
    "redis.call('HSET', KEYS[1], 'workerId', '', 'persisted', '1', 'checkpointId', ARGV[2], "
    "'persistReason', 'restored_from_checkpoint')\n"
    "return 1\n";

int sq_redis_sandbox_crash_persist(sq_worker *w, const char *sandbox_id, const char *expected_worker,
                                   const char *checkpoint_id, bool *done, sq_err *err)
{
    char key[128];
    snprintf(key, sizeof key, "sandq:{%s}:sandbox", sandbox_id);
    redisReply *r = cmd(w, err, "EVAL %s 1 %s %s %s", crash_lua, key, expected_worker, checkpoint_id);
    if (!r)
        return -1;
    *done = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return 0;
}

int sq_redis_sandbox_mark_auto(sq_worker *w, const char *sandbox_id, sq_err *err)
{
    return simple(cmd(w, err, "HSET sandq:{%s}:sandbox autoCheckpoint 1", sandbox_id));
}

/* A persisted sandbox is free when paused, persisted and unowned; the one
 * that takes it bumps the epoch (fencing any late write of the last owner). */
static const char adopt_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st or st == 'ended' or st == 'failed' then return 0 end\n"
    "if redis.call('HGET', KEYS[1], 'persisted') ~= '1' then return 0 end\n"
    "local o = redis.call('HGET', KEYS[1], 'workerId')\n"
    "if o and o ~= '' then return 0 end\n"
    "local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)\n"
    "redis.call('HSET', KEYS[1], 'workerId', ARGV[1])\n"
    "redis.call('SADD', KEYS[2], ARGV[2])\n"
    "return e\n";

int sq_redis_sandbox_adopt(sq_worker *w, const char *sandbox_id, int64_t *epoch, sq_err *err)
{
    char key[128], owned[200];
    snprintf(key, sizeof key, "sandq:{%s}:sandbox", sandbox_id);
    snprintf(owned, sizeof owned, "sandq:worker:{%s}:sandboxes", w->cfg.worker_id);
    redisReply *r = cmd(w, err, "EVAL %s 2 %s %s %s %s", adopt_lua, key, owned, w->cfg.worker_id, sandbox_id);
    if (!r)
        return -1;
    *epoch = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

int sq_redis_next_seq(sq_worker *w, const char *sandbox_id, int64_t *seq, sq_err *err)
{
    redisReply *r = cmd(w, err, "HINCRBY sandq:{%s}:sandbox seq 1", sandbox_id);
    if (!r)
        return -1;
    *seq = r->integer;
    freeReplyObject(r);
    return 0;
}

int sq_redis_task_state(sq_worker *w, const char *sandbox_id, const char *task_id, char *state, size_t cap,
                        sq_err *err)
{
    state[0] = '\0';
    redisReply *r = cmd(w, err, "HGET sandq:{%s}:task:%s state", sandbox_id, task_id);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING)
        snprintf(state, cap, "%s", r->str);
    freeReplyObject(r);
    return 0;
}

int sq_redis_task_set(sq_worker *w, const char *sandbox_id, const char *task_id, const char *kind, const char *state,
                      const char *request_id, int exit_code, sq_err *err)
{
    char now[32], code[16];
    snprintf(now, sizeof now, "%lld", (long long)sq_now_ms());
    snprintf(code, sizeof code, "%d", exit_code);
    if (defer(w, err, "HSET sandq:{%s}:task:%s kind %s state %s requestId %s exitCode %s updatedAt %s", sandbox_id,
              task_id, kind, state, request_id, exit_code >= 0 ? code : "", now) < 0)
        return -1;
    return defer(w, err, "EXPIRE sandq:{%s}:task:%s %lld", sandbox_id, task_id, (long long)w->cfg.ended_ttl_s);
}

/* The dedupe key changes hands only by compare-and-set, so two live workers
 * (a partition moving mid-request) can never both believe a request is theirs
 * to answer. Absent counts as "" (never a stored value). */
static const char *take_over_lua =
    "local v = redis.call('GET', KEYS[1]) "
    "if (v == false and ARGV[1] == '') or v == ARGV[1] then "
    "  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end "
    "return 0";

/* Record the answer only while the request is still ours: our claim, our own
 * earlier answer (a retry), or no key at all (Redis lost it). */
static const char *answer_lua =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false or v == ARGV[1] or string.sub(v, 1, #ARGV[2]) == ARGV[2] then "
    "  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4]) return 1 end "
    "return 0";

static void request_key(const char *request_id, char *key, size_t cap)
{
    snprintf(key, cap, "sandq:req:{%s}", request_id);
}

int sq_redis_request_begin(sq_worker *w, const char *request_id, sq_dedupe *outcome, char **answer, sq_err *err)
{
    *answer = NULL;
    char mine[SQ_ID_MAX + 4], key[SQ_ID_MAX + 16], ttl[24];
    snprintf(mine, sizeof mine, "p:%s", w->incarnation);
    request_key(request_id, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%lld", (long long)w->cfg.dedupe_ttl_s);
    for (int attempt = 0; attempt < 8; attempt++) {
        redisReply *r = cmd(w, err, "SET %s %s NX EX %s", key, mine, ttl);
        if (!r)
            return -1;
        bool fresh = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (fresh) {
            *outcome = SQ_DEDUPE_NEW;
            return 0;
        }
        if (!(r = cmd(w, err, "GET %s", key)))
            return -1;
        const char *value = r->type == REDIS_REPLY_STRING ? r->str : NULL;
        const char *envelope;
        *outcome = sq_dedupe_classify(value, w->incarnation, &envelope);
        if (*outcome == SQ_DEDUPE_ANSWERED && !(*answer = strdup(envelope)))
            *outcome = SQ_DEDUPE_NEW; /* no memory to publish it again: redo instead */
        if (*outcome != SQ_DEDUPE_NEW) {
            freeReplyObject(r);
            return 0;
        }
        /* A claim of a run that died: take it over, unless it changed meanwhile
         * (that run answered after all, or another worker took it first). */
        redisReply *t = cmd(w, err, "EVAL %s 1 %s %s %s %s", take_over_lua, key, value ? value : "", mine, ttl);
        freeReplyObject(r);
        if (!t)
            return -1;
        bool taken = t->type == REDIS_REPLY_INTEGER && t->integer == 1;
        freeReplyObject(t);
        if (taken)
            return 0;
    }
    return sq_err_set(err, SQ_INTERNAL, "request %s: its dedupe key keeps changing", request_id);
}

int sq_redis_request_answered(sq_worker *w, const char *request_id, const char *envelope, sq_err *err)
{
    /* Kept only until the request is done (done overwrites it), so Redis
     * memory follows what is in flight. */
    char mine[SQ_ID_MAX + 4], answered[SQ_ID_MAX + 4], key[SQ_ID_MAX + 16], ttl[24];
    snprintf(mine, sizeof mine, "p:%s", w->incarnation);
    int n = snprintf(answered, sizeof answered, "a:%s:", w->incarnation);
    request_key(request_id, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%lld", (long long)w->cfg.dedupe_ttl_s);
    size_t len = strlen(envelope);
    char *value = malloc((size_t)n + len + 1);
    if (!value)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    memcpy(value, answered, (size_t)n);
    memcpy(value + n, envelope, len + 1);
    redisReply *r = cmd(w, err, "EVAL %s 1 %s %s %s %s %s", answer_lua, key, mine, answered, value, ttl);
    free(value);
    if (!r)
        return -1;
    bool ours = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    bool failed = r->type == REDIS_REPLY_ERROR;
    if (failed)
        sq_err_set(err, SQ_INTERNAL, "redis: %s", r->str);
    freeReplyObject(r);
    if (failed)
        return -1;
    if (!ours) {
        sq_err_set(err, SQ_INTERNAL, "request %s was taken over by another worker", request_id);
        err->sys_errno = ESTALE;
        return -1;
    }
    return 0;
}

int sq_redis_request_done(sq_worker *w, const char *request_id, sq_err *err)
{
    return simple(cmd(w, err, "SET sandq:req:{%s} done EX %lld", request_id, (long long)w->cfg.dedupe_ttl_s));
}

int sq_redis_requests_done(sq_worker *w, const char *const *request_ids, size_t n, sq_err *err)
{
    /* One round trip for the lot: all but the last ride as deferred commands. */
    for (size_t i = 0; i + 1 < n; i++)
        if (defer(w, err, "SET sandq:req:{%s} done EX %lld", request_ids[i], (long long)w->cfg.dedupe_ttl_s) < 0)
            return -1;
    return n ? sq_redis_request_done(w, request_ids[n - 1], err) : sq_redis_flush(w, err);
}

bool sq_redis_ping(sq_worker *w)
{
    sq_err err;
    redisReply *r = cmd(w, &err, "PING");
    return simple(r) == 0;
}

static void ms_or_empty(char *buf, size_t size, int64_t v)
{
    if (v >= 0)
        snprintf(buf, size, "%lld", (long long)v);
    else
        buf[0] = '\0';
}

static int lifetime(sq_worker *w, const sq_live_sandbox *sb, int64_t now, bool soon, sq_err *err)
{
    const sq_lifetime *lt = &sb->lifetime;
    char timeout[32], idle[32], used[32], deadline[32], idle_deadline[32], mem[32], cpus[32], pids[32];
    ms_or_empty(timeout, sizeof timeout, lt->timeout_ms > 0 ? lt->timeout_ms : -1);
    ms_or_empty(idle, sizeof idle, lt->idle_timeout_ms > 0 ? lt->idle_timeout_ms : -1);
    ms_or_empty(used, sizeof used, sq_lifetime_used(lt, now));
    ms_or_empty(deadline, sizeof deadline, sq_lifetime_deadline(lt));
    ms_or_empty(idle_deadline, sizeof idle_deadline, sq_lifetime_idle_deadline(lt));
    snprintf(mem, sizeof mem, "%lld", (long long)sb->limits.memory_mb);
    snprintf(cpus, sizeof cpus, "%g", (double)sb->limits.cpu_millis / 1000.0);
    snprintf(pids, sizeof pids, "%lld", (long long)sb->limits.pids);
    const char *fmt = "HSET sandq:{%s}:sandbox timeoutMs %s idleTimeoutMs %s onTimeout %s usedMs %s deadlineAt %s "
                      "idleDeadlineAt %s memoryMb %s cpus %s pids %s";
    const char *on_timeout = sb->limits.pause_on_timeout ? "pause" : "kill";
    if (soon)
        return defer(w, err, fmt, sb->id, timeout, idle, on_timeout, used, deadline, idle_deadline, mem, cpus, pids);
    return simple(cmd(w, err, fmt, sb->id, timeout, idle, on_timeout, used, deadline, idle_deadline, mem, cpus, pids));
}

int sq_redis_sandbox_lifetime(sq_worker *w, const sq_live_sandbox *sb, int64_t now, sq_err *err)
{
    return lifetime(w, sb, now, false, err);
}

int sq_redis_sandbox_lifetime_later(sq_worker *w, const sq_live_sandbox *sb, int64_t now, sq_err *err)
{
    return lifetime(w, sb, now, true, err);
}

int sq_redis_handoff_set(sq_worker *w, const char *sandbox_id, const json_t *data, const char *control_mode,
                         const char *open_id, sq_err *err)
{
    const char *id = json_string_value(json_object_get(data, "handoffId"));
    char *text = json_dumps(data, JSON_COMPACT);
    if (!text)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    int rc = defer(w, err, "HSET sandq:{%s}:handoff:%s json %s status %s", sandbox_id, id, text,
                   json_string_value(json_object_get(data, "status")));
    free(text);
    if (rc == 0)
        rc = defer(w, err, "EXPIRE sandq:{%s}:handoff:%s %lld", sandbox_id, id, (long long)w->cfg.ended_ttl_s);
    if (rc == 0)
        rc = defer(w, err, "HSET sandq:{%s}:sandbox controlMode %s handoff %s", sandbox_id, control_mode, open_id);
    return rc;
}
