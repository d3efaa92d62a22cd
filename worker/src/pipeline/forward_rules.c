/* forward_rules.c — see forward_rules.h. */
#include "pipeline/forward_rules.h"

#include <stdio.h>
#include <string.h>

sq_forward_verdict sq_forward_decide(const sq_forward_facts *f)
{
    if (f->forwarded || f->is_create || f->hosted_here)
        return SQ_FORWARD_HERE;
    if (!f->record_live || f->owner_is_self || !f->owner_alive)
        return SQ_FORWARD_HERE;
    return SQ_FORWARD_TO_OWNER;
}

int sq_forward_topic(const char *prefix, const char *worker_id, char *out, size_t n)
{
    if (!prefix || !*prefix || !worker_id || !*worker_id)
        return -1;
    int len = snprintf(out, n, "%s.worker.%s", prefix, worker_id);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

bool sq_forward_is_topic(const char *prefix, const char *topic)
{
    static const char mid[] = ".worker.";
    size_t pl = strlen(prefix);
    return strncmp(topic, prefix, pl) == 0 && strncmp(topic + pl, mid, sizeof mid - 1) == 0 &&
           topic[pl + sizeof mid - 1] != '\0';
}
