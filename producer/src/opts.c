/* opts.c — reading a caller's option struct whatever header version it was built
 * with (sandq.h, "Option structs"): the caller says in struct_size how big its
 * struct is; we take the part we both know, leave the rest at its defaults (zero),
 * and refuse options we do not know rather than ignore them. Pure; unit-tested in
 * tests/unit/test_sandq_opts.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Larger than any option struct will be: a struct_size above it is an uninitialised
 * struct, not a newer header. */
#define OPTS_SIZE_SANE (64 * 1024)

sandq_code sqp_opts_copy(void *dst, size_t dst_size, const void *src, const char *type, sandq_error *err)
{
    memset(dst, 0, dst_size);
    memcpy(dst, &dst_size, sizeof dst_size);
    if (!src)
        return SANDQ_OK;
    size_t given;
    memcpy(&given, src, sizeof given);
    char macro[64];
    size_t i = 0;
    for (; type[i] && i + 1 < sizeof macro; i++)
        macro[i] = (char)toupper((unsigned char)type[i]);
    macro[i] = '\0';
    if (given < sizeof given || given > OPTS_SIZE_SANE)
        return sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s.struct_size is %zu: initialise the struct with %s_INIT", type,
                        given, macro);
    if (given > dst_size) {
        /* Built against a newer header: fine as long as it sets nothing we lack. */
        const unsigned char *tail = (const unsigned char *)src + dst_size;
        for (size_t k = 0; k < given - dst_size; k++)
            if (tail[k])
                return sqp_fail(err, SANDQ_E_BAD_ARGUMENT,
                                "%s sets an option this libsandq (%s) does not know (struct_size %zu, known %zu)",
                                type, SANDQ_VERSION, given, dst_size);
        given = dst_size;
    }
    memcpy((char *)dst + sizeof given, (const char *)src + sizeof given, given - sizeof given);
    return SANDQ_OK;
}
