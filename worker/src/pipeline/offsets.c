/* offsets.c — see offsets.h. Each partition keeps its in-flight offsets in a
 * growable ring, oldest first, each with a done flag; completing the oldest
 * pops every done entry off the front. */
#include "pipeline/offsets.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    int64_t offset;
    bool done;
} slot;

typedef struct part {
    char topic[250];
    int32_t partition;
    slot *ring;
    size_t cap, head, len;
    int64_t last_seen;       /* highest offset arrived, -1 if none */
    int64_t committable;     /* what we would commit now, -1 if nothing yet */
    int64_t reported;        /* what take_committable last returned */
    size_t open;             /* arrived, not complete */
    bool held;               /* fetching paused by the per-partition bound */
    struct part *next;
} part;

struct sq_offsets {
    part *parts;
    size_t inflight;
};

sq_offsets *sq_offsets_new(void) { return calloc(1, sizeof(sq_offsets)); }

void sq_offsets_free(sq_offsets *t)
{
    if (!t)
        return;
    for (part *p = t->parts, *n; p; p = n) {
        n = p->next;
        free(p->ring);
        free(p);
    }
    free(t);
}

static part *find(sq_offsets *t, const char *topic, int32_t partition, part ***link)
{
    part **pp = &t->parts;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->partition == partition && strcmp((*pp)->topic, topic) == 0)
            break;
    if (link)
        *link = pp;
    return *pp;
}

static slot *at(part *p, size_t i) { return &p->ring[(p->head + i) % p->cap]; }

static int grow(part *p)
{
    size_t ncap = p->cap ? p->cap * 2 : 64;
    slot *n = malloc(ncap * sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < p->len; i++)
        n[i] = *at(p, i);
    free(p->ring);
    p->ring = n;
    p->cap = ncap;
    p->head = 0;
    return 0;
}

int sq_offsets_arrive(sq_offsets *t, const char *topic, int32_t partition, int64_t offset)
{
    part *p = find(t, topic, partition, NULL);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        snprintf(p->topic, sizeof p->topic, "%s", topic);
        p->partition = partition;
        p->last_seen = -1;
        p->committable = -1;
        p->reported = -1;
        p->next = t->parts;
        t->parts = p;
    }
    if (offset <= p->last_seen)
        return 0;
    if (p->len == p->cap && grow(p) < 0)
        return -1;
    *at(p, p->len) = (slot){.offset = offset, .done = false};
    p->len++;
    p->last_seen = offset;
    p->committable = at(p, 0)->offset;
    t->inflight++;
    p->open++;
    return 1;
}

void sq_offsets_complete(sq_offsets *t, const char *topic, int32_t partition, int64_t offset)
{
    part *p = find(t, topic, partition, NULL);
    if (!p || p->len == 0)
        return;
    /* Binary search: the ring is sorted by offset. */
    size_t lo = 0, hi = p->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (at(p, mid)->offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == p->len || at(p, lo)->offset != offset || at(p, lo)->done)
        return;
    at(p, lo)->done = true;
    t->inflight--;
    p->open--;
    while (p->len && at(p, 0)->done) {
        p->head = (p->head + 1) % p->cap;
        p->len--;
    }
    p->committable = p->len ? at(p, 0)->offset : p->last_seen + 1;
}

void sq_offsets_revoke(sq_offsets *t, const char *topic, int32_t partition)
{
    part **link;
    part *p = find(t, topic, partition, &link);
    if (!p)
        return;
    for (size_t i = 0; i < p->len; i++)
        if (!at(p, i)->done)
            t->inflight--;
    *link = p->next;
    free(p->ring);
    free(p);
}

static bool of_topic(const part *p, const char *topic) { return !topic || strcmp(p->topic, topic) == 0; }

size_t sq_offsets_take_committable(sq_offsets *t, const char *topic, sq_offset_commit *out, size_t max)
{
    size_t n = 0;
    for (part *p = t->parts; p && n < max; p = p->next) {
        if (p->committable < 0 || p->committable == p->reported || !of_topic(p, topic))
            continue;
        snprintf(out[n].topic, sizeof out[n].topic, "%s", p->topic);
        out[n].partition = p->partition;
        out[n].offset = p->committable;
        p->reported = p->committable;
        n++;
    }
    return n;
}

size_t sq_offsets_inflight(const sq_offsets *t) { return t->inflight; }

static void name(sq_offset_commit *out, const part *p)
{
    snprintf(out->topic, sizeof out->topic, "%s", p->topic);
    out->partition = p->partition;
    out->offset = -1;
}

void sq_offsets_holds(sq_offsets *t, const char *topic, size_t cap, sq_offset_commit *hold, size_t *nhold,
                      sq_offset_commit *release, size_t *nrelease, size_t max)
{
    *nhold = *nrelease = 0;
    for (part *p = t->parts; p; p = p->next) {
        if (!of_topic(p, topic))
            continue;
        if (!p->held && p->open >= cap && *nhold < max) {
            p->held = true;
            name(&hold[(*nhold)++], p);
        } else if (p->held && p->open < cap && *nrelease < max) {
            p->held = false;
            name(&release[(*nrelease)++], p);
        }
    }
}
