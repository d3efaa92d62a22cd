/* log.h — JSON-lines logging: one object per line on stderr
 * ({"ts":…,"level":…,"msg":…,"worker_id":…,"sandbox_id":…,"request_id":…}).
 * Never pass a secret (env values) to these functions. */
#ifndef SQ_LOG_H
#define SQ_LOG_H

typedef enum { SQ_LOG_DEBUG, SQ_LOG_INFO, SQ_LOG_WARN, SQ_LOG_ERROR } sq_log_level;

/* Ids that give a line its context; any may be NULL. */
typedef struct sq_log_ctx {
    const char *sandbox_id;
    const char *request_id;
    const char *task_id;
} sq_log_ctx;

/* Process-wide settings: the component name ("worker", "cli"), the worker id
 * added to every line (may be NULL), and the minimum level. */
void sq_log_init(const char *component, const char *worker_id, sq_log_level min_level);
sq_log_level sq_log_level_from_name(const char *name, sq_log_level fallback);
void sq_log(sq_log_level level, const sq_log_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define sq_info(ctx, ...) sq_log(SQ_LOG_INFO, (ctx), __VA_ARGS__)
#define sq_warn(ctx, ...) sq_log(SQ_LOG_WARN, (ctx), __VA_ARGS__)
#define sq_error(ctx, ...) sq_log(SQ_LOG_ERROR, (ctx), __VA_ARGS__)
#define sq_debug(ctx, ...) sq_log(SQ_LOG_DEBUG, (ctx), __VA_ARGS__)

#endif
