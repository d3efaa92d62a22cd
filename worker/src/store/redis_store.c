/* redis_store.c — hiredis adapter for live state (see redis_store.h). */
#include "redis_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sq/codec.h"
#include "sq/log.h"
#include "sq/redis_url.h"

int sq_redis_connect(sq_worker *w, sq_err *err)
{
    sq_redis_url u;
    if (sq_redis_url_parse(w->cfg.conn.redis_url, &u, err) < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (!c || c->err) {
        sq_err_set(err, SQ_INTERNAL, "redis %s:%d: %s", u.host, u.port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = NULL;
    if (u.password[0])
        r = redisCommand(c, "AUTH %s", u.password);
    if (r)
        freeReplyObject(r);
    r = redisCommand(c, "SELECT %d", u.db);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        sq_err_set(err, SQ_INTERNAL, "redis SELECT %d failed", u.db);
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return -1;
    }
    freeReplyObject(r);
    if (w->redis)
        redisFree(w->redis);
    w->redis = c;
    return 0;
}

void sq_redis_close(sq_worker *w)
{
    if (w->redis)
        redisFree(w->redis);
    w->redis = NULL;
}

/* Run a command; on a broken connection reconnect once and retry, so a Redis
 * restart costs one slow request instead of a dead worker. */
static redisReply *cmd(sq_worker *w, sq_err *err, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!w->redis && sq_redis_connect(w, err) < 0)
            return NULL;
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(w->redis, fmt, ap);
        va_end(ap);
        if (r && r->type == REDIS_REPLY_ERROR) {
            sq_err_set(err, SQ_INTERNAL, "redis: %s", r->str);
            freeReplyObject(r);
            return NULL;
        }
        if (r)
            return r;
        sq_warn(NULL, "redis connection lost (%s); reconnecting", w->redis->errstr);
        sq_redis_close(w);
    }
    sq_err_set(err, SQ_INTERNAL, "redis unavailable");
    return NULL;
}

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
    redisReply *r = cmd(w, err, "HMGET sandq:{%s}:sandbox state tenant region replyTo workerId", sandbox_id);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
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
                   "runtime %s createdAt %s updatedAt %s",
                   sb->id, "", sb->tenant, sb->region, w->cfg.worker_id, sb->reply_to, runtime, now, now)) < 0)
        return -1;
    return simple(cmd(w, err, "ZADD sandq:sandboxes %s %s", now, sb->id));
}

int sq_redis_sandbox_set_state(sq_worker *w, const char *sandbox_id, sq_state state, sq_state previous, sq_err *err)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)sq_now_ms());
    const char *prev = sq_state_name(previous);
    if (simple(cmd(w, err, "HSET sandq:{%s}:sandbox state %s previous %s updatedAt %s", sandbox_id,
                   sq_state_name(state), prev ? prev : "", now)) < 0)
        return -1;
    if (sq_state_is_terminal(state)) {
        /* Ended sandboxes stay readable for a while (get, late requests get
         * invalid_state rather than sandbox_not_found), then expire; PostgreSQL
         * keeps the history. */
        if (simple(cmd(w, err, "EXPIRE sandq:{%s}:sandbox %lld", sandbox_id, (long long)w->cfg.ended_ttl_s)) < 0)
            return -1;
    }
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

int sq_redis_task_set(sq_worker *w, const char *sandbox_id, const char *task_id, const char *kind, const char *state,
                      const char *request_id, int exit_code, sq_err *err)
{
    char now[32], code[16];
    snprintf(now, sizeof now, "%lld", (long long)sq_now_ms());
    snprintf(code, sizeof code, "%d", exit_code);
    if (simple(cmd(w, err, "HSET sandq:{%s}:task:%s kind %s state %s requestId %s exitCode %s updatedAt %s", sandbox_id,
                   task_id, kind, state, request_id, exit_code >= 0 ? code : "", now)) < 0)
        return -1;
    return simple(cmd(w, err, "EXPIRE sandq:{%s}:task:%s %lld", sandbox_id, task_id, (long long)w->cfg.ended_ttl_s));
}

int sq_redis_request_seen(sq_worker *w, const char *request_id, bool *seen, sq_err *err)
{
    redisReply *r = cmd(w, err, "EXISTS sandq:req:{%s}", request_id);
    if (!r)
        return -1;
    *seen = r->integer == 1;
    freeReplyObject(r);
    return 0;
}

int sq_redis_request_mark(sq_worker *w, const char *request_id, sq_err *err)
{
    return simple(cmd(w, err, "SET sandq:req:{%s} done NX EX %lld", request_id, (long long)w->cfg.dedupe_ttl_s));
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

int sq_redis_sandbox_lifetime(sq_worker *w, const sq_live_sandbox *sb, int64_t now, sq_err *err)
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
    return simple(cmd(w, err,
                      "HSET sandq:{%s}:sandbox timeoutMs %s idleTimeoutMs %s onTimeout %s usedMs %s deadlineAt %s "
                      "idleDeadlineAt %s memoryMb %s cpus %s pids %s",
                      sb->id, timeout, idle, sb->limits.pause_on_timeout ? "pause" : "kill", used, deadline,
                      idle_deadline, mem, cpus, pids));
}
