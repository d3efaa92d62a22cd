/* redis_url.h — parse "redis://[:password@]host[:port][/db]" (pure). */
#ifndef SQ_REDIS_URL_H
#define SQ_REDIS_URL_H

#include "sq/err.h"

typedef struct sq_redis_url {
    char host[256];
    int port;
    int db;
    char password[256];
} sq_redis_url;

int sq_redis_url_parse(const char *url, sq_redis_url *out, sq_err *err);

#endif
