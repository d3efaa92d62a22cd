/* redis_connect.h — one way to open a Redis connection from a redis:// URL, for
 * the worker's store pool (worker/src/store/pool.c) and libsandq's sandq_get and
 * sandq_list (producer/src/state.c). The two had drifted apart (one ignored a
 * refused AUTH and then reported a failed SELECT); both now connect, authenticate
 * and select the database here, with the same deadline on every step. */
#ifndef SQ_REDIS_CONNECT_H
#define SQ_REDIS_CONNECT_H

#include <hiredis/hiredis.h>

#include "sq/err.h"

/* What failed, for callers that report the two differently. */
typedef enum sq_redis_fail {
    SQ_REDIS_OK = 0,
    SQ_REDIS_BAD_URL = -1,   /* the URL does not parse (a configuration mistake) */
    SQ_REDIS_FAILED = -2,    /* connect, AUTH or SELECT failed (Redis is down or refuses us) */
} sq_redis_fail;

/* Connect to url ("redis://[:password@]host[:port][/db]") within timeout_ms, which
 * also becomes the connection's command timeout; AUTH when the URL has a password,
 * SELECT when its db is not 0. *out is the connection (redisFree it) on SQ_REDIS_OK,
 * else NULL with err saying which step failed and why. */
sq_redis_fail sq_redis_connect(const char *url, int timeout_ms, redisContext **out, sq_err *err);

#endif
