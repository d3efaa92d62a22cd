/* redact.c — see redact.h. */
#include "caps/recording/redact.h"

#include <stdlib.h>
#include <string.h>


int sq_redactor_init(sq_redactor *r, const json_t *env_a, const json_t *env_b)
{
    memset(r, 0, sizeof *r);
    size_t cap = (env_a ? json_object_size(env_a) : 0) + (env_b ? json_object_size(env_b) : 0);
    if (cap == 0)
        return 0;
    r->vals = calloc(cap, sizeof *r->vals);
    r->lens = calloc(cap, sizeof *r->lens);
    if (!r->vals || !r->lens) {
        sq_redactor_free(r);
        return -1;
    }
    const json_t *envs[2] = {env_a, env_b};
    for (int e = 0; e < 2; e++) {
        const char *k;
        const json_t *v;
        if (!envs[e])
            continue;
        json_object_foreach((json_t *)envs[e], k, v)
        {
            size_t l = json_string_length(v);
            if (!json_is_string(v) || l < SQ_REDACT_MIN_LEN)
                continue;
            /* insertion sort, longest first */
            size_t i = r->n++;
            while (i > 0 && r->lens[i - 1] < l) {
                r->vals[i] = r->vals[i - 1];
                r->lens[i] = r->lens[i - 1];
                i--;
            }
            r->vals[i] = json_string_value(v);
            r->lens[i] = l;
            if (l > r->max_len)
                r->max_len = l;
        }
    }
    return 0;
}

void sq_redactor_free(sq_redactor *r)
{
    free(r->vals);
    free(r->lens);
    memset(r, 0, sizeof *r);
}

/* The length of the secret that starts at buf[i] (fully inside buf), or 0. */
static size_t match_at(const sq_redactor *r, const char *buf, size_t len, size_t i)
{
    for (size_t k = 0; k < r->n; k++)
        if (r->lens[k] <= len - i && memcmp(buf + i, r->vals[k], r->lens[k]) == 0)
            return r->lens[k];
    return 0;
}

/* Whether buf[i..len) could be the beginning of a secret cut short. */
static bool prefix_at(const sq_redactor *r, const char *buf, size_t len, size_t i)
{
    for (size_t k = 0; k < r->n; k++)
        if (r->lens[k] > len - i && memcmp(buf + i, r->vals[k], len - i) == 0)
            return true;
    return false;
}

typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

static bool put(out_buf *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = (o->cap ? o->cap * 2 : 64);
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p)
            return false;
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
    return true;
}

/* Bytes at the end of buf[0..len) that begin a UTF-8 sequence not complete yet. */
static size_t utf8_tail(const char *buf, size_t len)
{
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)buf[len - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

size_t sq_redact_stream(const sq_redactor *r, const char *buf, size_t len, bool final, char **out, size_t *out_len)
{
    out_buf o = {0};
    size_t i = 0, run = 0;
    bool ok = put(&o, "", 0);
    while (ok && i < len) {
        size_t m = r->n ? match_at(r, buf, len, i) : 0;
        if (m) {
            ok = put(&o, buf + run, i - run) && put(&o, SQ_REDACT_MARK, strlen(SQ_REDACT_MARK));
            i += m;
            run = i;
            continue;
        }
        if (!final && r->n && prefix_at(r, buf, len, i))
            break; /* may be a secret whose rest is in the next chunk */
        i++;
    }
    size_t carry = len - i;
    if (ok && !final) {
        /* keep an incomplete UTF-8 character with the carry, so every release is whole characters */
        size_t t = utf8_tail(buf + run, i - run);
        i -= t;
        carry += t;
    }
    if (ok)
        ok = put(&o, buf + run, i - run);
    if (!ok) {
        free(o.p);
        *out = NULL;
        *out_len = 0;
        return 0;
    }
    *out = o.p;
    *out_len = o.len;
    return final ? 0 : carry;
}

char *sq_redact(const sq_redactor *r, const char *in, size_t len, size_t *out_len)
{
    char *out;
    sq_redact_stream(r, in, len, true, &out, out_len);
    return out;
}

json_t *sq_redact_json(const sq_redactor *r, const json_t *v)
{
    if (json_is_string(v)) {
        size_t n;
        char *s = sq_redact(r, json_string_value(v), json_string_length(v), &n);
        json_t *j = s ? json_stringn(s, n) : NULL;
        free(s);
        return j ? j : json_string(SQ_REDACT_MARK);
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        const json_t *e;
        json_array_foreach((json_t *)v, i, e) json_array_append_new(a, sq_redact_json(r, e));
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e) json_object_set_new(o, k, sq_redact_json(r, e));
        return o;
    }
    return json_deep_copy(v);
}
