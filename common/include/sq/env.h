/* env.h — 12-factor configuration helpers: typed reads of environment variables
 * with defaults, and the settings shared by the producer and the worker. */
#ifndef SQ_ENV_H
#define SQ_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "sq/err.h"

const char *sq_env_str(const char *name, const char *fallback);
/* Returns -1 and fills err if the variable is set but not an integer in [min, max]. */
int sq_env_int(const char *name, int64_t fallback, int64_t min, int64_t max, int64_t *out, sq_err *err);
bool sq_env_bool(const char *name, bool fallback);

/* Connection settings every sandq component shares. Strings point into the
 * environment or static defaults; they live as long as the process. */
typedef struct sq_conn_config {
    const char *kafka_brokers;   /* SANDQ_KAFKA_BROKERS, default "127.0.0.1:19092" */
    const char *redis_url;       /* SANDQ_REDIS_URL,     default "redis://127.0.0.1:16379/0" */
    const char *database_url;    /* SANDQ_DATABASE_URL,  default "postgresql://sandq@127.0.0.1:15432/sandq" */
    const char *topic_prefix;    /* SANDQ_TOPIC_PREFIX,  default "sandq" */
} sq_conn_config;

void sq_conn_config_from_env(sq_conn_config *cfg);

/* If SANDQ_KAFKA_BROKERS is unset and a `.stack/env` file exists in the current
 * directory or a parent, load its KEY=VALUE lines into the environment (without
 * overriding variables already set). Lets the CLI work inside a checkout. */
void sq_env_load_stack_file(void);

#endif
