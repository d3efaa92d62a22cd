/* log.c — JSON-lines logs on stderr. One line per call, written with a single
 * write(2) so lines from different threads never interleave. */
#include "sq/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_component = "sandq";
static const char *log_worker_id;
static sq_log_level log_min = SQ_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sq_log_init(const char *component, const char *worker_id, sq_log_level min_level)
{
    log_component = component ? component : "sandq";
    log_worker_id = worker_id;
    log_min = min_level;
}

sq_log_level sq_log_level_from_name(const char *name, sq_log_level fallback)
{
    if (name)
        for (int i = 0; i < 4; i++)
            if (strcasecmp(name, level_names[i]) == 0)
                return (sq_log_level)i;
    return fallback;
}

void sq_log(sq_log_level level, const sq_log_ctx *ctx, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(when));
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "component", json_string(log_component));
    json_object_set_new(o, "msg", json_string(msg));
    if (log_worker_id)
        json_object_set_new(o, "worker_id", json_string(log_worker_id));
    if (ctx) {
        if (ctx->sandbox_id && *ctx->sandbox_id)
            json_object_set_new(o, "sandbox_id", json_string(ctx->sandbox_id));
        if (ctx->request_id && *ctx->request_id)
            json_object_set_new(o, "request_id", json_string(ctx->request_id));
        if (ctx->task_id && *ctx->task_id)
            json_object_set_new(o, "task_id", json_string(ctx->task_id));
    }
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line)
        return;
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps allocates n+1: reuse the NUL slot for the newline */
    ssize_t w = write(STDERR_FILENO, line, n + 1);
    (void)w;
    free(line);
}
