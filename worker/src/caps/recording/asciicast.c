/* asciicast.c — see asciicast.h. */
#include "caps/recording/asciicast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq/utf8.h"

/* Room kept for the truncation note, so the bound holds with it. */
#define NOTE_ROOM 160

static bool grow(char **buf, size_t *len, size_t *cap, size_t n)
{
    if (*len + n + 1 <= *cap)
        return true;
    size_t c = *cap ? *cap : 256;
    while (c < *len + n + 1)
        c *= 2;
    char *p = realloc(*buf, c);
    if (!p)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (!grow(buf, len, cap, n))
        return false;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

bool sq_cast_json_string(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!append(buf, len, cap, "\"", 1))
        return false;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        char esc[8];
        const char *piece = esc;
        size_t plen;
        size_t cl = sq_utf8_seq(u + i, n - i);
        if (cl == 0) {
            piece = "\\ufffd";
            plen = 6;
            cl = 1;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            plen = 2;
        } else if (c == '\n') {
            piece = "\\n";
            plen = 2;
        } else if (c == '\r') {
            piece = "\\r";
            plen = 2;
        } else if (c == '\t') {
            piece = "\\t";
            plen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            plen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        } else {
            piece = s + i;
            plen = cl;
        }
        if (!append(buf, len, cap, piece, plen))
            return false;
        i += cl;
    }
    return append(buf, len, cap, "\"", 1);
}

int sq_cast_init(sq_cast *c, const sq_redactor *r, size_t max_bytes, int width, int height, int64_t epoch_s,
                 const char *title, const char *command)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->max = max_bytes;
    char head[160];
    int n = snprintf(head, sizeof head, "{\"version\": 2, \"width\": %d, \"height\": %d, \"timestamp\": %lld", width,
                     height, (long long)epoch_s);
    bool ok = append(&c->text, &c->len, &c->cap, head, (size_t)n);
    if (ok && title)
        ok = append(&c->text, &c->len, &c->cap, ", \"title\": ", 11) &&
             sq_cast_json_string(&c->text, &c->len, &c->cap, title, strlen(title));
    if (ok && command) {
        size_t rn;
        char *red = sq_redact(r, command, strlen(command), &rn);
        ok = red && append(&c->text, &c->len, &c->cap, ", \"command\": ", 13) &&
             sq_cast_json_string(&c->text, &c->len, &c->cap, red, rn);
        free(red);
    }
    ok = ok && append(&c->text, &c->len, &c->cap, "}\n", 2);
    if (!ok) {
        c->failed = true;
        return -1;
    }
    return 0;
}

/* Appends one event line; false when it did not fit the bound (nothing appended). */
static bool try_line(sq_cast *c, double t, const char *data, size_t n)
{
    size_t before = c->len;
    char ts[48];
    int tn = snprintf(ts, sizeof ts, "[%.6f, \"o\", ", t < 0 ? 0.0 : t);
    bool ok = append(&c->text, &c->len, &c->cap, ts, (size_t)tn) &&
              sq_cast_json_string(&c->text, &c->len, &c->cap, data, n) && append(&c->text, &c->len, &c->cap, "]\n", 2);
    if (!ok)
        c->failed = true;
    if (!ok || c->len + NOTE_ROOM > c->max) {
        c->len = before;
        if (c->text)
            c->text[c->len] = '\0';
        return false;
    }
    return true;
}

/* One event line with data already redacted. A chunk that does not fit is
 * cut to the part that does (on a character boundary), and the recording
 * ends there. */
static void line(sq_cast *c, double t, const char *data, size_t n)
{
    if (c->failed || n == 0)
        return;
    if (c->truncated) {
        c->dropped += (int64_t)n;
        return;
    }
    if (try_line(c, t, data, n)) {
        c->last_t = t;
        return;
    }
    c->truncated = true;
    size_t cut = n;
    while (!c->failed && cut > 0) {
        /* escaping grows the text by up to 6x: shrink in proportion, then by halves */
        size_t room = c->max > c->len + NOTE_ROOM + 64 ? c->max - c->len - NOTE_ROOM - 64 : 0;
        size_t next = room / 6 < cut ? room / 6 : cut / 2;
        cut = next < cut ? next : cut / 2;
        while (cut > 0 && ((unsigned char)data[cut] & 0xC0) == 0x80)
            cut--;
        if (cut > 0 && try_line(c, t, data, cut)) {
            c->last_t = t;
            break;
        }
    }
    c->dropped += (int64_t)(n - cut);
}

static void feed(sq_cast *c, int stream, double t, const char *bytes, size_t len, bool final)
{
    size_t pend = c->carry_len[stream] + len;
    char *buf = malloc(pend ? pend : 1);
    if (!buf) {
        c->failed = true;
        return;
    }
    if (c->carry_len[stream])
        memcpy(buf, c->carry[stream], c->carry_len[stream]);
    if (len)
        memcpy(buf + c->carry_len[stream], bytes, len);
    char *out;
    size_t out_len;
    size_t keep = sq_redact_stream(c->r, buf, pend, final, &out, &out_len);
    if (!out) {
        free(buf);
        c->failed = true;
        return;
    }
    line(c, t, out, out_len);
    free(out);
    free(c->carry[stream]);
    c->carry[stream] = NULL;
    c->carry_len[stream] = 0;
    if (keep) {
        c->carry[stream] = malloc(keep);
        if (!c->carry[stream]) {
            c->failed = true;
        } else {
            memcpy(c->carry[stream], buf + pend - keep, keep);
            c->carry_len[stream] = keep;
        }
    }
    free(buf);
}

void sq_cast_output(sq_cast *c, int stream, double t, const char *bytes, size_t len)
{
    if (c->failed || (stream != 1 && stream != 2) || len == 0)
        return;
    feed(c, stream, t, bytes, len, false);
}

void sq_cast_finish(sq_cast *c, double t)
{
    for (int s = 1; s <= 2; s++)
        if (c->carry_len[s])
            feed(c, s, t, NULL, 0, true);
    if (c->truncated && !c->failed) {
        char note[NOTE_ROOM];
        int n = snprintf(note, sizeof note,
                         "[%.6f, \"o\", \"\\r\\n[sandq: recording truncated at SANDQ_RECORDING_MAX_BYTES, %lld bytes "
                         "of output not recorded]\\r\\n\"]\n",
                         c->last_t, (long long)c->dropped);
        if (n > 0 && (size_t)n < sizeof note)
            append(&c->text, &c->len, &c->cap, note, (size_t)n);
    }
}

void sq_cast_free(sq_cast *c)
{
    free(c->text);
    for (int s = 0; s < 3; s++)
        free(c->carry[s]);
    memset(c, 0, sizeof *c);
}
