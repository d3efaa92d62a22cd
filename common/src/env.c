/* env.c — configuration from environment variables (12-factor), and loading a
 * checkout's `.stack/env` so the CLI works without exporting anything. */
#include "sq/env.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *sq_env_str(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

int sq_env_int(const char *name, int64_t fallback, int64_t min, int64_t max, int64_t *out, sq_err *err)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = fallback;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return sq_err_field(err, SQ_INVALID_REQUEST, name, "%s must be an integer in [%lld, %lld], got \"%s\"", name,
                            (long long)min, (long long)max, v);
    *out = n;
    return 0;
}

bool sq_env_bool(const char *name, bool fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
           strcasecmp(v, "on") == 0;
}

void sq_conn_config_from_env(sq_conn_config *cfg)
{
    cfg->kafka_brokers = sq_env_str("SANDQ_KAFKA_BROKERS", "127.0.0.1:19092");
    cfg->redis_url = sq_env_str("SANDQ_REDIS_URL", "redis://127.0.0.1:16379/0");
    cfg->database_url = sq_env_str("SANDQ_DATABASE_URL", "postgresql://sandq@127.0.0.1:15432/sandq");
    cfg->topic_prefix = sq_env_str("SANDQ_TOPIC_PREFIX", "sandq");
}

void sq_env_load_stack_file(void)
{
    if (getenv("SANDQ_KAFKA_BROKERS"))
        return;
    char dir[PATH_MAX];
    if (!getcwd(dir, sizeof dir))
        return;
    for (;;) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/.stack/env", dir);
        FILE *f = fopen(path, "re");
        if (f) {
            char line[4096];
            while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = '\0';
                char *eq = strchr(line, '=');
                if (line[0] == '#' || !eq || eq == line)
                    continue;
                *eq = '\0';
                setenv(line, eq + 1, 0);
            }
            fclose(f);
            return;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            return;
        *slash = '\0';
    }
}
