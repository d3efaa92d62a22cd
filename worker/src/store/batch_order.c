/* batch_order.c — see batch_order.h. */
#include "store/batch_order.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *verb, *table;
    int rank;
} ranked[] = {
    {"INSERT INTO", "sandboxes", 0}, {"INSERT INTO", "webhook_endpoints", 1}, {"INSERT INTO", "tasks", 2},
    {"INSERT INTO", "requests", 3},  {"INSERT INTO", "events", 4},            {"UPDATE", "sandboxes", 5},
    {"UPDATE", "tasks", 6},
};

/* Does `s` start with `word` (case-insensitive) followed by a space? Advances *s past both. */
static bool take_word(const char **s, const char *word)
{
    size_t n = strlen(word);
    if (strncasecmp(*s, word, n) != 0 || !isspace((unsigned char)(*s)[n]))
        return false;
    *s += n;
    while (isspace((unsigned char)**s))
        (*s)++;
    return true;
}

int sq_batch_rank(const char *sql)
{
    if (!sql)
        return -1;
    while (isspace((unsigned char)*sql))
        sql++;
    for (size_t i = 0; i < sizeof ranked / sizeof *ranked; i++) {
        const char *s = sql;
        if (!take_word(&s, ranked[i].verb))
            continue;
        size_t n = strlen(ranked[i].table);
        /* The table name must end there: "tasks_archive" is not "tasks". */
        if (strncmp(s, ranked[i].table, n) == 0 && (s[n] == ' ' || s[n] == '('))
            return ranked[i].rank;
    }
    return -1;
}

void sq_batch_order(const int *ranks, int count, int *order)
{
    int out = 0;
    for (int start = 0; start < count;) {
        int end = start, highest = -1;
        for (; end < count && ranks[end] >= 0; end++)
            if (ranks[end] > highest)
                highest = ranks[end];
        /* [start, end) may be reordered: one stable pass per rank present, so
         * every index is placed exactly once whatever the ranks are. */
        for (int rank = 0; rank <= highest; rank++)
            for (int i = start; i < end; i++)
                if (ranks[i] == rank)
                    order[out++] = i;
        if (end < count)
            order[out++] = end; /* the barrier, in place */
        start = end + 1;
    }
}
