/* fuzz_workspace_path.c — libFuzzer harness for sq_workspace_path, the check
 * between a files.* request's path and the sandbox's filesystem.
 *
 * The first input byte picks the output buffer size (so the length checks are
 * explored with small buffers too); the rest is the path. An accepted path must
 * be workspace-relative and normal — no leading '/', no empty, "." or ".."
 * component, "." alone for the root — and must agree with a reference
 * resolver written differently (split, then a component stack). */
#include <string.h>

#include "fuzz_check.h"
#include "sq/workspace_path.h"

/* Reference: returns 1 inside (writing the normal form), 0 outside, -1 when
 * the input is not a path at all (empty). No length limits. */
static int reference(const char *in, char *out)
{
    if (!*in)
        return -1;
    const char *p = in;
    if (*p == '/') {
        if (strncmp(p, "/workspace", 10) != 0)
            return 0;
        p += 10;
        if (*p != '/' && *p != '\0')
            return 0;
    }
    size_t n = strlen(p);
    char *copy = malloc(n + 1);
    memcpy(copy, p, n + 1);
    const char **stack = malloc(sizeof *stack * (n / 2 + 2));
    size_t depth = 0;
    char *save = NULL;
    int inside = 1;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            if (depth == 0) {
                inside = 0;
                break;
            }
            depth--;
            continue;
        }
        stack[depth++] = c;
    }
    if (inside) {
        out[0] = '\0';
        for (size_t i = 0; i < depth; i++) {
            if (i)
                strcat(out, "/");
            strcat(out, stack[i]);
        }
        if (depth == 0)
            strcpy(out, ".");
    }
    free(stack);
    free(copy);
    return inside;
}

static void check_normal(const char *out)
{
    FUZZ_CHECK(out[0] != '\0');
    FUZZ_CHECK(out[0] != '/');
    if (strcmp(out, ".") == 0)
        return;
    const char *c = out;
    for (;;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        FUZZ_CHECK(n > 0);
        FUZZ_CHECK(!(n == 1 && c[0] == '.'));
        FUZZ_CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
        if (!end)
            break;
        c = end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 3 * 4096)
        return 0;
    /* Output sizes from 1 to 4096 bytes, weighted to the real one. */
    size_t out_size = (data[0] & 0x80) ? 4096 : (size_t)data[0] % 64 + 1;
    size_t n = size - 1;
    char *in = malloc(n + 1);
    memcpy(in, data + 1, n);
    in[n] = '\0'; /* a NUL inside the input ends the path, as it would in C */

    char *out = malloc(out_size);
    sq_err err;
    sq_err_clear(&err);
    int rc = sq_workspace_path(in, "body.path", out, out_size, &err);

    char *ref = malloc(strlen(in) + 2);
    int want = reference(in, ref);

    if (rc == 0) {
        FUZZ_CHECK(strlen(out) < out_size);
        check_normal(out);
        FUZZ_CHECK(want == 1);
        FUZZ_CHECK(strcmp(out, ref) == 0);

        /* A fixed point: resolving the result changes nothing. */
        char *again = malloc(out_size + 1);
        FUZZ_CHECK(sq_workspace_path(out, "p", again, out_size + 1, &err) == 0);
        FUZZ_CHECK(strcmp(again, out) == 0);
        free(again);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(strcmp(err.field, "body.path") == 0);
        FUZZ_CHECK(err.msg[0] != '\0');
        if (err.code == SQ_PATH_OUTSIDE_WORKSPACE) {
            FUZZ_CHECK(want == 0);
        } else {
            /* Empty, or longer than the output / the component limit allows. */
            FUZZ_CHECK(err.code == SQ_INVALID_REQUEST);
            FUZZ_CHECK(want == -1 || strlen(in) + 2 > out_size || strlen(in) > 4096);
        }
    }
    free(ref);
    free(out);
    free(in);
    return 0;
}
