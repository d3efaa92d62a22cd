/* topics.c — topic names derived from the configured prefix, and region names. */
#include <stdio.h>

#include "sq/protocol.h"

void sq_topic_requests(const char *prefix, const char *region, char out[SQ_TOPIC_MAX])
{
    if (region && *region)
        snprintf(out, SQ_TOPIC_MAX, "%s.requests.%s", prefix, region);
    else
        snprintf(out, SQ_TOPIC_MAX, "%s.requests", prefix);
}

void sq_topic_events(const char *prefix, char out[SQ_TOPIC_MAX]) { snprintf(out, SQ_TOPIC_MAX, "%s.events", prefix); }

void sq_topic_dlq(const char *prefix, char out[SQ_TOPIC_MAX]) { snprintf(out, SQ_TOPIC_MAX, "%s.dlq", prefix); }

bool sq_region_valid(const char *region)
{
    if (!region)
        return false;
    for (int i = 0; i < 3; i++)
        if (region[i] < 'a' || region[i] > 'z')
            return false;
    return region[3] == '\0';
}
