/* registry.c — chained hash map of live sandboxes (keyed by murmur2 of the id). */
#include "lifecycle/registry.h"

#include <string.h>

#include "sq/murmur2.h"

static sq_live_sandbox **bucket(sq_worker *w, const char *id)
{
    return &w->buckets[sq_murmur2(id, strlen(id)) % (sizeof w->buckets / sizeof w->buckets[0])];
}

sq_live_sandbox *sq_registry_get(sq_worker *w, const char *id)
{
    for (sq_live_sandbox *s = *bucket(w, id); s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

void sq_registry_put(sq_worker *w, sq_live_sandbox *sb)
{
    sq_live_sandbox **b = bucket(w, sb->id);
    sb->next = *b;
    *b = sb;
}

sq_live_sandbox *sq_registry_remove(sq_worker *w, const char *id)
{
    for (sq_live_sandbox **p = bucket(w, id); *p; p = &(*p)->next) {
        if (strcmp((*p)->id, id) == 0) {
            sq_live_sandbox *s = *p;
            *p = s->next;
            s->next = NULL;
            return s;
        }
    }
    return NULL;
}
