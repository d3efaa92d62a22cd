/* pages.c — see pages.h. */
#include "caps/browser/pages.h"

#include <stdio.h>
#include <string.h>

void sq_pages_reset(sq_pages *ps, const char *target)
{
    memset(ps, 0, sizeof *ps);
    ps->current = -1;
    if (target && target[0]) {
        snprintf(ps->p[0].target, sizeof ps->p[0].target, "%s", target);
        ps->n = 1;
        ps->current = 0;
    }
}

sq_page_ref *sq_pages_current(sq_pages *ps)
{
    return ps->current >= 0 && ps->current < ps->n ? &ps->p[ps->current] : NULL;
}

static bool is_page(const json_t *info)
{
    const char *type = json_string_value(json_object_get(info, "type"));
    return type && strcmp(type, "page") == 0 && json_string_value(json_object_get(info, "targetId"));
}

static const json_t *find_info(const json_t *infos, const char *target)
{
    size_t i;
    const json_t *t;
    json_array_foreach(infos, i, t)
    {
        if (is_page(t) && strcmp(json_string_value(json_object_get(t, "targetId")), target) == 0)
            return t;
    }
    return NULL;
}

static int find_ref(const sq_pages *ps, const char *target)
{
    for (int i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].target, target) == 0)
            return i;
    return -1;
}

/* Remove p[i], keeping the order and the current index right. */
static void drop(sq_pages *ps, int i)
{
    memmove(&ps->p[i], &ps->p[i + 1], (size_t)(ps->n - i - 1) * sizeof ps->p[0]);
    ps->n--;
    if (ps->current > i)
        ps->current--;
    else if (ps->current == i)
        ps->current = -1;
}

bool sq_pages_update(sq_pages *ps, const json_t *infos)
{
    char was[SQ_CDP_NAME_MAX] = "", opener[SQ_CDP_NAME_MAX] = "";
    sq_page_ref *cur = sq_pages_current(ps);
    if (cur) {
        snprintf(was, sizeof was, "%s", cur->target);
        snprintf(opener, sizeof opener, "%s", cur->opener);
    }
    /* Pages that are gone. */
    for (int i = ps->n - 1; i >= 0; i--)
        if (!find_info(infos, ps->p[i].target))
            drop(ps, i);
    /* Pages opened since: the newest becomes current. */
    int newest = -1;
    size_t k;
    const json_t *t;
    json_array_foreach(infos, k, t)
    {
        if (!is_page(t) || find_ref(ps, json_string_value(json_object_get(t, "targetId"))) >= 0)
            continue;
        if (ps->n == SQ_PAGES_MAX) {
            int oldest = ps->current == 0 ? 1 : 0;
            drop(ps, oldest);
            if (newest >= 0)
                newest = newest > oldest ? newest - 1 : -1;
        }
        sq_page_ref *r = &ps->p[ps->n];
        memset(r, 0, sizeof *r);
        snprintf(r->target, sizeof r->target, "%s", json_string_value(json_object_get(t, "targetId")));
        snprintf(r->opener, sizeof r->opener, "%s", json_string_value(json_object_get(t, "openerId")) ?: "");
        newest = ps->n++;
    }
    if (newest >= 0) {
        ps->current = newest;
    } else if (ps->current < 0) {
        /* The current page closed: back to its opener, else the latest seen. */
        int o = opener[0] ? find_ref(ps, opener) : -1;
        ps->current = o >= 0 ? o : ps->n - 1;
    }
    cur = sq_pages_current(ps);
    return strcmp(cur ? cur->target : "", was) != 0;
}
