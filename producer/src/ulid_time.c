/* ulid_time.c — decode the timestamp of a ULID (ulid_time.h). */
#include "ulid_time.h"

#include <string.h>

static int crockford(char ch)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    const char *p = ch ? strchr(alphabet, ch) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int sqp_id_time_ms(const char *id, int64_t *ms)
{
    const char *u = id ? strchr(id, '_') : NULL;
    if (!u || strlen(u + 1) != 26)
        return -1;
    u++;
    uint64_t t = 0;
    for (int i = 0; i < 10; i++) {
        int v = crockford(u[i]);
        if (v < 0 || (i == 0 && v > 7))
            return -1;
        t = (t << 5) | (uint64_t)v;
    }
    *ms = (int64_t)t;
    return 0;
}
