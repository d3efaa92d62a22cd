/* webhook_schedule.c — see webhook_schedule.h. */
#include "webhook_schedule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void sq_wh_schedule_default(sq_wh_schedule *s)
{
    static const int64_t def[] = {0,           5 * 1000LL,       5 * 60 * 1000LL,   30 * 60 * 1000LL,
                                  7200 * 1000LL, 5 * 3600 * 1000LL, 10 * 3600 * 1000LL, 10 * 3600 * 1000LL};
    memset(s, 0, sizeof *s);
    s->n = sizeof def / sizeof def[0];
    memcpy(s->delay_ms, def, sizeof def);
}

int sq_wh_schedule_parse(const char *spec, sq_wh_schedule *s, sq_err *err)
{
    memset(s, 0, sizeof *s);
    const char *p = spec ? spec : "";
    while (*p) {
        if (s->n == SQ_WH_SCHEDULE_MAX)
            return sq_err_set(err, SQ_INVALID_REQUEST, "a webhook schedule has at most %d entries",
                              SQ_WH_SCHEDULE_MAX);
        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            return sq_err_set(err, SQ_INVALID_REQUEST, "bad webhook schedule entry at \"%s\"", p);
        char *end;
        long long v = strtoll(p, &end, 10);
        int64_t mult = 1;
        if (strncmp(end, "ms", 2) == 0)
            end += 2;
        else if (*end == 's')
            mult = 1000, end++;
        else if (*end == 'm')
            mult = 60 * 1000, end++;
        else if (*end == 'h')
            mult = 3600 * 1000, end++;
        while (*end == ' ')
            end++;
        if ((*end != ',' && *end != '\0') || v > 7 * 24 * 3600 * 1000LL / mult)
            return sq_err_set(err, SQ_INVALID_REQUEST, "bad webhook schedule entry at \"%s\"", p);
        s->delay_ms[s->n++] = v * mult;
        p = *end == ',' ? end + 1 : end;
    }
    if (s->n == 0)
        return sq_err_set(err, SQ_INVALID_REQUEST, "an empty webhook schedule");
    return 0;
}

int64_t sq_wh_next_delay_ms(const sq_wh_schedule *s, int attempts, int64_t retry_after_ms, uint32_t jitter_rnd)
{
    if (attempts < 0 || (size_t)attempts >= s->n)
        return -1;
    int64_t d = s->delay_ms[attempts];
    /* ±10 %: d * (0.9 + 0.2 * rnd/2^32), in integers. */
    int64_t span = d / 5;
    int64_t delay = d - d / 10 + (int64_t)(((unsigned __int128)(uint64_t)span * jitter_rnd) >> 32);
    if (retry_after_ms > SQ_WH_RETRY_AFTER_MAX_MS)
        retry_after_ms = SQ_WH_RETRY_AFTER_MAX_MS;
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    return delay;
}

int64_t sq_wh_retry_after_ms(const char *value, int64_t now_ms)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long secs = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (*end || secs < 0 || secs > SQ_WH_RETRY_AFTER_MAX_MS / 1000)
            return *end ? -1 : SQ_WH_RETRY_AFTER_MAX_MS;
        return secs * 1000;
    }
    struct tm tm = {0};
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return -1;
    while (*end == ' ' || *end == '\r' || *end == '\n')
        end++;
    if (*end)
        return -1;
    int64_t at = (int64_t)timegm(&tm) * 1000;
    return at > now_ms ? at - now_ms : 0;
}
