/* outputs_glob.c — see outputs_glob.h. */
#include "artifacts/outputs_glob.h"

#include <fnmatch.h>
#include <string.h>

const char *sq_glob_normalize(const char *pat, sq_err *err)
{
    if (!pat)
        return NULL;
    if (strncmp(pat, "/workspace/", 11) == 0)
        pat += 11;
    while (strncmp(pat, "./", 2) == 0)
        pat += 2;
    if (!*pat || pat[0] == '/') {
        sq_err_field(err, SQ_PATH_OUTSIDE_WORKSPACE, "body.outputs",
                     "outputs patterns are relative to /workspace (got an absolute or empty pattern)");
        return NULL;
    }
    for (const char *s = pat; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            sq_err_field(err, SQ_PATH_OUTSIDE_WORKSPACE, "body.outputs", "outputs patterns may not contain '..'");
            return NULL;
        }
        s += n;
        if (*s == '/')
            s++;
    }
    return pat;
}

/* Match one segment [p, p+pn) against [s, s+sn) with fnmatch. */
static bool seg_match(const char *p, size_t pn, const char *s, size_t sn)
{
    char pb[512], sb[512];
    if (pn >= sizeof pb || sn >= sizeof sb)
        return false;
    memcpy(pb, p, pn);
    pb[pn] = '\0';
    memcpy(sb, s, sn);
    sb[sn] = '\0';
    return fnmatch(pb, sb, FNM_PATHNAME | FNM_PERIOD) == 0;
}

/* Segment-wise match. partial: rel is a directory and we ask whether the
 * pattern could continue below it (rel consumed with pattern left over). */
static bool match_from(const char *p, const char *s, bool partial)
{
    for (;;) {
        if (!*s) /* for a directory: is there pattern left for what is below it */
            return partial ? *p != '\0' : *p == '\0';
        if (!*p)
            return false;
        size_t pn = strcspn(p, "/"), sn = strcspn(s, "/");
        const char *pnext = p[pn] == '/' ? p + pn + 1 : p + pn;
        const char *snext = s[sn] == '/' ? s + sn + 1 : s + sn;
        if (pn == 2 && p[0] == '*' && p[1] == '*') {
            /* `**`: zero directories (the rest of the pattern here), or one
             * more (stay on `**`). Hidden directories are not crossed. */
            if (!*pnext) /* a trailing `**`: everything below */
                return s[0] != '.';
            if (match_from(pnext, s, partial))
                return true;
            if (s[0] == '.' || (!*snext && !partial))
                return false;
            s = snext;
            continue;
        }
        if (!seg_match(p, pn, s, sn))
            return false;
        p = pnext;
        s = snext;
    }
}

bool sq_glob_match(const char *pattern, const char *rel)
{
    return match_from(pattern, rel, false);
}

bool sq_glob_dir_may_match(const char *pattern, const char *dir_rel)
{
    return !*dir_rel || match_from(pattern, dir_rel, true);
}
