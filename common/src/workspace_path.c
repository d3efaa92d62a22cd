/* workspace_path.c — see workspace_path.h. */
#include "sq/workspace_path.h"

#include <stdio.h>
#include <string.h>

int sq_workspace_path(const char *in, const char *field, char *out, size_t out_size, sq_err *err)
{
    if (!in || !*in)
        return sq_err_field(err, SQ_INVALID_REQUEST, field, "path must not be empty");
    size_t root_len = strlen(SQ_WORKSPACE_ROOT);
    const char *p = in;
    if (*p == '/') {
        if (strncmp(p, SQ_WORKSPACE_ROOT, root_len) != 0 || (p[root_len] != '/' && p[root_len] != '\0'))
            return sq_err_field(err, SQ_PATH_OUTSIDE_WORKSPACE, field, "%.200s is outside /workspace", in);
        p += root_len;
    }
    if (strlen(p) + 2 > out_size)
        return sq_err_field(err, SQ_INVALID_REQUEST, field, "path is too long");

    /* Component stack: `starts[i]` is where component i begins in out. */
    size_t starts[4096 / 2 + 1];
    size_t depth = 0, o = 0;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (depth == 0)
                return sq_err_field(err, SQ_PATH_OUTSIDE_WORKSPACE, field, "%.200s is outside /workspace", in);
            o = starts[--depth];
            if (o > 0)
                o--; /* drop the separator before the popped component */
        } else {
            if (depth >= sizeof starts / sizeof starts[0])
                return sq_err_field(err, SQ_INVALID_REQUEST, field, "path has too many components");
            if (o > 0)
                out[o++] = '/';
            starts[depth++] = o;
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return 0;
}
