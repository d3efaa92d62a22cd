/* redis_url.c — see redis_url.h. */
#include "sq/redis_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sq_redis_url_parse(const char *url, sq_redis_url *out, sq_err *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0)
        return sq_err_set(err, SQ_INVALID_REQUEST, "redis URL must start with redis://");
    p += 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        snprintf(out->password, sizeof out->password, "%.*s", (int)(at - pw), pw);
        p = at + 1;
    }
    size_t hostlen = strcspn(p, ":/");
    if (hostlen == 0 || hostlen >= sizeof out->host)
        return sq_err_set(err, SQ_INVALID_REQUEST, "redis URL has no host");
    snprintf(out->host, sizeof out->host, "%.*s", (int)hostlen, p);
    p += hostlen;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535)
            return sq_err_set(err, SQ_INVALID_REQUEST, "redis URL has a bad port");
        out->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || db < 0 || db > 1000)
            return sq_err_set(err, SQ_INVALID_REQUEST, "redis URL has a bad database number");
        out->db = (int)db;
    }
    return 0;
}
