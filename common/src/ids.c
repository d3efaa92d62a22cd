/* ids.c — ULID-based ids ("sbx_01JD…"): Crockford base32 of a 48-bit millisecond
 * timestamp followed by 80 random bits. */
#include "sq/ids.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void sq_ulid_encode(uint64_t ms, const unsigned char rnd[10], char out[SQ_ULID_LEN + 1])
{
    /* 128 bits: 48 of time then 80 of randomness, as 26 base32 digits (130 bits,
     * the top two always zero, which is why the first digit is at most '7'). */
    unsigned char b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(b + 6, rnd, 10);
    for (int i = SQ_ULID_LEN - 1, bit = 0; i >= 0; i--, bit += 5) {
        /* 5 bits starting `bit` bits from the least significant end. */
        unsigned v = 0;
        for (int k = 0; k < 5; k++) {
            int pos = bit + k;
            if (pos >= 128)
                break;
            int byte = 15 - pos / 8;
            v |= (unsigned)((b[byte] >> (pos % 8)) & 1u) << k;
        }
        out[i] = crockford[v];
    }
    out[SQ_ULID_LEN] = '\0';
}

void sq_ulid_new(char out[SQ_ULID_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    unsigned char rnd[10];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    sq_ulid_encode(ms, rnd, out);
}

void sq_id_new(const char *prefix, char out[SQ_ID_MAX])
{
    char ulid[SQ_ULID_LEN + 1];
    sq_ulid_new(ulid);
    snprintf(out, SQ_ID_MAX, "%s_%s", prefix, ulid);
}

bool sq_id_valid(const char *s, const char *prefix)
{
    if (!s || !prefix)
        return false;
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || s[pl] != '_')
        return false;
    const char *u = s + pl + 1;
    if (strlen(u) != SQ_ULID_LEN || u[0] > '7')
        return false;
    for (int i = 0; i < SQ_ULID_LEN; i++)
        if (!strchr(crockford, u[i]) || u[i] == '\0')
            return false;
    return true;
}
