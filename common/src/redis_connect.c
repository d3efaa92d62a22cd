/* redis_connect.c — see redis_connect.h. */
#include "sq/redis_connect.h"

#include "sq/redis_url.h"

/* A command that must not come back as an error (AUTH, SELECT). */
static sq_redis_fail expect_ok(redisContext *r, const sq_redis_url *u, redisReply *rep, const char *what,
                               sq_err *err)
{
    sq_redis_fail rc = SQ_REDIS_OK;
    if (!rep) {
        sq_err_set(err, SQ_INTERNAL, "Redis at %s:%d: %s: %s", u->host, u->port, what, r->errstr);
        rc = SQ_REDIS_FAILED;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        sq_err_set(err, SQ_INTERNAL, "Redis at %s:%d: %s: %s", u->host, u->port, what, rep->str);
        rc = SQ_REDIS_FAILED;
    }
    freeReplyObject(rep);
    return rc;
}

sq_redis_fail sq_redis_connect(const char *url, int timeout_ms, redisContext **out, sq_err *err)
{
    *out = NULL;
    sq_redis_url u;
    if (sq_redis_url_parse(url, &u, err) < 0)
        return SQ_REDIS_BAD_URL;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *r = redisConnectWithTimeout(u.host, u.port, tv);
    if (!r || r->err) {
        sq_err_set(err, SQ_INTERNAL, "cannot connect to Redis at %s:%d: %s", u.host, u.port,
                   r ? r->errstr : "out of memory");
        redisFree(r);
        return SQ_REDIS_FAILED;
    }
    redisSetTimeout(r, tv);
    sq_redis_fail rc = SQ_REDIS_OK;
    if (u.password[0])
        rc = expect_ok(r, &u, redisCommand(r, "AUTH %s", u.password), "AUTH", err);
    if (rc == SQ_REDIS_OK && u.db)
        rc = expect_ok(r, &u, redisCommand(r, "SELECT %d", u.db), "SELECT", err);
    if (rc != SQ_REDIS_OK) {
        redisFree(r);
        return rc;
    }
    *out = r;
    return SQ_REDIS_OK;
}
