/* multirow.c — see multirow.h. A small scanner of the SQL the worker writes
 * itself (literals in pg_store.c and webhook_outbox.c): strings, quoted
 * identifiers, parentheses, words and $n placeholders. */
#include "store/multirow.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* One lexical step from sql[i]: a quoted string or identifier, a word, a
 * placeholder, or one other character. */
typedef enum { TOK_END, TOK_BAD, TOK_WORD, TOK_PARAM, TOK_OPEN, TOK_CLOSE, TOK_COMMA, TOK_OTHER } tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t start, end;   /* sql[start..end) */
    long param;          /* TOK_PARAM: its number */
} tok;

static tok next_tok(const char *sql, size_t i)
{
    while (isspace((unsigned char)sql[i]))
        i++;
    tok t = {.kind = TOK_OTHER, .start = i, .end = i + 1};
    char c = sql[i];
    if (c == '\0') {
        t.kind = TOK_END;
        t.end = i;
    } else if (c == '\'' || c == '"') {
        /* A doubled quote stays inside; standard_conforming_strings makes a
         * backslash an ordinary character, but it is refused anyway (E'' strings). */
        size_t j = i + 1;
        for (;;) {
            if (sql[j] == '\0')
                return (tok){.kind = TOK_BAD};
            if (sql[j] == c) {
                if (sql[j + 1] == c) {
                    j += 2;
                    continue;
                }
                break;
            }
            if (sql[j] == '\\')
                return (tok){.kind = TOK_BAD};
            j++;
        }
        t.end = j + 1;
    } else if (c == '$') {
        /* After an identifier character a '$' belongs to the identifier; here
         * it starts a placeholder or a dollar quote (refused). */
        if (!isdigit((unsigned char)sql[i + 1]))
            return (tok){.kind = TOK_BAD};
        size_t j = i + 1;
        long n = 0;
        while (isdigit((unsigned char)sql[j])) {
            if (n > SQ_MULTIROW_MAX_PARAMS)
                return (tok){.kind = TOK_BAD};
            n = n * 10 + (sql[j] - '0');
            j++;
        }
        t.kind = TOK_PARAM;
        t.param = n;
        t.end = j;
    } else if (isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80) {
        size_t j = i;
        while (ident_char(sql[j]) || (unsigned char)sql[j] >= 0x80)
            j++;
        t.kind = TOK_WORD;
        t.end = j;
    } else if (isdigit((unsigned char)c)) {
        size_t j = i;
        while (isalnum((unsigned char)sql[j]) || sql[j] == '.' || sql[j] == '_')
            j++;
        t.end = j;
    } else if (c == '(') {
        t.kind = TOK_OPEN;
    } else if (c == ')') {
        t.kind = TOK_CLOSE;
    } else if (c == ',') {
        t.kind = TOK_COMMA;
    } else if (c == ';' || c == '\\' || (c == '-' && sql[i + 1] == '-') || (c == '/' && sql[i + 1] == '*')) {
        return (tok){.kind = TOK_BAD}; /* several statements, a comment: not worth understanding */
    }
    return t;
}

static bool word_is(const char *sql, const tok *t, const char *w)
{
    return t->kind == TOK_WORD && t->end - t->start == strlen(w) && strncasecmp(sql + t->start, w, t->end - t->start) == 0;
}

bool sq_multirow_shape(const char *sql, int nparams, sq_multirow *shape)
{
    if (!sql || nparams < 1 || nparams > SQ_MULTIROW_MAX_PARAMS)
        return false;
    tok t = next_tok(sql, 0);
    if (!word_is(sql, &t, "INSERT"))
        return false;
    enum { HEAD, TUPLE, TAIL } part = HEAD;
    bool after_values = false;
    int depth = 0, placeholders = 0;
    size_t tuple_start = 0, tuple_end = 0;
    for (size_t i = t.end;; i = t.end) {
        t = next_tok(sql, i);
        switch (t.kind) {
        case TOK_END:
            if (part != TAIL || depth != 0)
                return false;
            *shape = (sq_multirow){.tuple_start = tuple_start, .tuple_end = tuple_end, .nparams = nparams,
                                   .placeholders = placeholders, .max_rows = SQ_MULTIROW_MAX_PARAMS / nparams};
            return true;
        case TOK_BAD:
            return false;
        case TOK_PARAM:
            if (part != TUPLE || t.param < 1 || t.param > nparams)
                return false;
            placeholders++;
            break;
        case TOK_OPEN:
            if (depth == 0 && after_values) {
                part = TUPLE;
                tuple_start = t.start;
            }
            depth++;
            break;
        case TOK_CLOSE:
            if (--depth < 0)
                return false;
            if (depth == 0 && part == TUPLE) {
                part = TAIL;
                tuple_end = t.end;
                /* Already several rows: leave it as it is. */
                if (next_tok(sql, t.end).kind == TOK_COMMA)
                    return false;
            }
            break;
        case TOK_WORD:
            if (depth == 0 && word_is(sql, &t, "VALUES")) {
                if (part != HEAD)
                    return false;
                if (next_tok(sql, t.end).kind != TOK_OPEN)
                    return false; /* DEFAULT VALUES, or something unforeseen */
            }
            if (depth == 0 && part == TAIL && word_is(sql, &t, "UPDATE"))
                return false; /* ON CONFLICT … DO UPDATE */
            break;
        default:
            break;
        }
        after_values = t.kind == TOK_WORD && depth == 0 && word_is(sql, &t, "VALUES");
    }
}

int sq_multirow_run(const char *const *sqls, const int *nparams, int count, int limit, sq_multirow *shape)
{
    if (count <= 0)
        return 0;
    sq_multirow s;
    if (limit < 2 || !sq_multirow_shape(sqls[0], nparams[0], &s))
        return 1;
    if (limit > s.max_rows)
        limit = s.max_rows;
    int n = 1;
    while (n < count && n < limit && nparams[n] == nparams[0] &&
           (sqls[n] == sqls[0] || strcmp(sqls[n], sqls[0]) == 0))
        n++;
    if (n > 1)
        *shape = s;
    return n;
}

char *sq_multirow_build(const char *sql, const sq_multirow *shape, int rows)
{
    if (rows < 1 || rows > shape->max_rows)
        return NULL;
    size_t head = shape->tuple_start, tuple = shape->tuple_end - shape->tuple_start,
           tail = strlen(sql + shape->tuple_end);
    /* Renumbered placeholders have at most 5 digits ($65535). */
    size_t cap = head + tail + 1 + (size_t)rows * (tuple + 1 + (size_t)shape->placeholders * 5);
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    memcpy(p, sql, head);
    p += head;
    for (int r = 0; r < rows; r++) {
        if (r)
            *p++ = ',';
        long offset = (long)r * shape->nparams;
        size_t from = shape->tuple_start;
        for (size_t i = from; i < shape->tuple_end;) {
            tok t = next_tok(sql, i);
            if (t.kind == TOK_PARAM) {
                memcpy(p, sql + from, t.start - from);
                p += t.start - from;
                p += sprintf(p, "$%ld", t.param + offset);
                from = t.end;
            }
            i = t.end;
        }
        memcpy(p, sql + from, shape->tuple_end - from);
        p += shape->tuple_end - from;
    }
    memcpy(p, sql + shape->tuple_end, tail + 1);
    return out;
}
