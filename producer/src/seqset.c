/* seqset.c — see seqset.h. */
#include "seqset.h"

#include <stdlib.h>
#include <string.h>

/* Index of the first run whose hi ≥ seq - 1 (the first that holds seq, ends just
 * before it, or lies above it); n if none. */
static uint32_t first_reaching(const sqp_seqset *s, int64_t seq)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->runs[mid][1] < seq - 1)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void remove_run(sqp_seqset *s, uint32_t i)
{
    memmove(&s->runs[i], &s->runs[i + 1], (size_t)(s->n - i - 1) * sizeof s->runs[0]);
    s->n--;
}

int sqp_seqset_add(sqp_seqset *s, int64_t seq)
{
    if (seq <= 0)
        return 1;
    if (seq <= s->prefix)
        return 0;
    if (seq == s->prefix + 1) {
        s->prefix = seq;
        if (s->n && s->runs[0][0] == seq + 1) { /* the hole below the first run is filled */
            s->prefix = s->runs[0][1];
            remove_run(s, 0);
        }
        return 1;
    }
    uint32_t i = first_reaching(s, seq);
    if (i < s->n && s->runs[i][0] <= seq && seq <= s->runs[i][1])
        return 0;
    if (i < s->n && s->runs[i][1] == seq - 1) { /* extends run i upwards */
        s->runs[i][1] = seq;
        if (i + 1 < s->n && s->runs[i + 1][0] == seq + 1) {
            s->runs[i][1] = s->runs[i + 1][1];
            remove_run(s, i + 1);
        }
        return 1;
    }
    if (i < s->n && s->runs[i][0] == seq + 1) { /* extends run i downwards */
        s->runs[i][0] = seq;
        return 1;
    }
    if (s->n == s->cap) {
        if (s->cap >= SQP_SEQSET_MAX_RUNS)
            return -1;
        uint32_t cap = s->cap ? s->cap * 2 : 2;
        int64_t(*r)[2] = realloc(s->runs, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        s->runs = r;
        s->cap = cap;
    }
    memmove(&s->runs[i + 1], &s->runs[i], (size_t)(s->n - i) * sizeof s->runs[0]);
    s->runs[i][0] = s->runs[i][1] = seq;
    s->n++;
    return 1;
}

bool sqp_seqset_has(const sqp_seqset *s, int64_t seq)
{
    if (seq <= 0)
        return false;
    if (seq <= s->prefix)
        return true;
    uint32_t i = first_reaching(s, seq);
    return i < s->n && s->runs[i][0] <= seq && seq <= s->runs[i][1];
}

int64_t sqp_seqset_prefix(const sqp_seqset *s) { return s->prefix; }

int64_t sqp_seqset_max(const sqp_seqset *s) { return s->n ? s->runs[s->n - 1][1] : s->prefix; }

void sqp_seqset_clear(sqp_seqset *s)
{
    free(s->runs);
    memset(s, 0, sizeof *s);
}
