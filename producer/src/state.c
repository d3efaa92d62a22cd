/* state.c — sandq_get and sandq_list: the workers' live state in Redis
 * (`sandq:{sbx_…}:sandbox` hashes and the `sandq:sandboxes` index, docs/internals.md).
 * The only Redis code in libsandq: a short-lived connection per call, made from the
 * client's redis_url, so the Kafka-only calls never need Redis. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sq/redis_connect.h"

#define REDIS_TIMEOUT_MS 5000
#define LIST_DEFAULT_LIMIT 1000
#define LIST_SCAN_MAX 100000 /* index entries examined at most by one sandq_list */

static redisContext *connect_redis(sandq_client_t *c, sandq_error *err)
{
    redisContext *r;
    sq_err e;
    sq_err_clear(&e);
    switch (sq_redis_connect(c->redis_url, REDIS_TIMEOUT_MS, &r, &e)) {
    case SQ_REDIS_OK: return r;
    case SQ_REDIS_BAD_URL: sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "redis_url \"%s\": %s", c->redis_url, e.msg); break;
    case SQ_REDIS_FAILED: sqp_fail(err, SANDQ_E_REDIS, "%s", e.msg); break;
    }
    return NULL;
}

static int64_t to_i64(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

/* Fill out from an HGETALL reply; false if the hash is empty (no such sandbox). */
static bool info_from_hash(const redisReply *rep, const char *id, sandq_sandbox_info *out)
{
    memset(out, 0, sizeof *out);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2)
        return false;
    snprintf(out->id, sizeof out->id, "%s", id);
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str, *v = rep->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (strcmp(k, "state") == 0) snprintf(out->state, sizeof out->state, "%s", v);
        else if (strcmp(k, "previous") == 0) snprintf(out->previous, sizeof out->previous, "%s", v);
        else if (strcmp(k, "tenant") == 0) snprintf(out->tenant, sizeof out->tenant, "%s", v);
        else if (strcmp(k, "region") == 0) snprintf(out->region, sizeof out->region, "%s", v);
        else if (strcmp(k, "workerId") == 0) snprintf(out->worker_id, sizeof out->worker_id, "%s", v);
        else if (strcmp(k, "runtime") == 0) snprintf(out->runtime, sizeof out->runtime, "%s", v);
        else if (strcmp(k, "replyTo") == 0) snprintf(out->reply_to, sizeof out->reply_to, "%s", v);
        else if (strcmp(k, "createdAt") == 0) out->created_at = to_i64(v);
        else if (strcmp(k, "updatedAt") == 0) out->updated_at = to_i64(v);
        else if (strcmp(k, "seq") == 0) out->seq = to_i64(v);
    }
    return true;
}

sandq_code sandq_get(sandq_client_t *c, const char *sandbox_id, sandq_sandbox_info *out, sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client and out must not be NULL");
    memset(out, 0, sizeof *out);
    if (!sandbox_id || !sq_id_valid(sandbox_id, "sbx"))
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "\"%s\" is not a sandbox id", sandbox_id ? sandbox_id : "(null)");
    redisContext *r = connect_redis(c, err);
    if (!r)
        return err ? err->code : SANDQ_E_REDIS;
    redisReply *rep = redisCommand(r, "HGETALL sandq:{%s}:sandbox", sandbox_id);
    sandq_code rc = SANDQ_OK;
    if (!rep)
        rc = sqp_fail(err, SANDQ_E_REDIS, "Redis: %s", r->errstr);
    else if (rep->type == REDIS_REPLY_ERROR)
        rc = sqp_fail(err, SANDQ_E_REDIS, "Redis: %s", rep->str);
    else if (!info_from_hash(rep, sandbox_id, out))
        rc = sqp_fail(err, SANDQ_E_SANDBOX_NOT_FOUND, "no live state for sandbox %s in Redis", sandbox_id);
    else if (out->tenant[0] && strcmp(out->tenant, c->tenant) != 0) {
        memset(out, 0, sizeof *out);
        rc = sqp_fail(err, SANDQ_E_FORBIDDEN, "sandbox %s belongs to another tenant", sandbox_id);
    }
    freeReplyObject(rep);
    redisFree(r);
    return rc;
}

sandq_code sandq_list(sandq_client_t *c, const sandq_list_opts *opts, sandq_sandbox_info **out, size_t *count,
                      sandq_error *err)
{
    sqp_err_clear(err);
    if (!c || !out || !count)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "client, out and count must not be NULL");
    *out = NULL;
    *count = 0;
    sandq_list_opts o;
    if (sqp_opts_copy(&o, sizeof o, opts, "sandq_list_opts", err))
        return err ? err->code : SANDQ_E_BAD_ARGUMENT;
    opts = &o;
    size_t limit = opts->limit ? opts->limit : LIST_DEFAULT_LIMIT;
    redisContext *r = connect_redis(c, err);
    if (!r)
        return err ? err->code : SANDQ_E_REDIS;
    sandq_code rc = SANDQ_OK;
    sandq_sandbox_info *v = NULL;
    size_t n = 0;
    /* Newest first, a page at a time; the hashes of each page are pipelined. */
    const long page = 256;
    for (long start = 0; n < limit && start < LIST_SCAN_MAX && !rc; start += page) {
        redisReply *ids = redisCommand(r, "ZREVRANGE sandq:sandboxes %ld %ld", start, start + page - 1);
        if (!ids || ids->type != REDIS_REPLY_ARRAY) {
            rc = sqp_fail(err, SANDQ_E_REDIS, "Redis: %s", ids && ids->str ? ids->str : r->errstr);
            freeReplyObject(ids);
            break;
        }
        if (ids->elements == 0) {
            freeReplyObject(ids);
            break;
        }
        for (size_t i = 0; i < ids->elements; i++)
            redisAppendCommand(r, "HGETALL sandq:{%s}:sandbox", ids->element[i]->str);
        for (size_t i = 0; i < ids->elements; i++) {
            redisReply *h = NULL;
            if (redisGetReply(r, (void **)&h) != REDIS_OK) {
                rc = sqp_fail(err, SANDQ_E_REDIS, "Redis: %s", r->errstr);
                break;
            }
            sandq_sandbox_info info;
            const char *id = ids->element[i]->str;
            bool keep = id && sq_id_valid(id, "sbx") && info_from_hash(h, id, &info) &&
                        (opts->all_tenants || !info.tenant[0] || strcmp(info.tenant, c->tenant) == 0) &&
                        (!opts->state || !*opts->state || strcmp(info.state, opts->state) == 0);
            freeReplyObject(h);
            if (!keep || n >= limit)
                continue;
            sandq_sandbox_info *nv = realloc(v, (n + 1) * sizeof *v);
            if (!nv) {
                rc = sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
                break;
            }
            v = nv;
            v[n++] = info;
        }
        bool last = ids->elements < (size_t)page;
        freeReplyObject(ids);
        if (last)
            break;
    }
    redisFree(r);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return SANDQ_OK;
}
