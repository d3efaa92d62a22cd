/* units.c — durations, sizes, KEY=VALUE pairs and SBX:path arguments (units.h). */
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sq/ids.h"

int sqp_parse_duration_ms(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return -1;
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -1;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > (INT64_MAX - 9) / 10)
                return -1;
            n = n * 10 + (*p++ - '0');
        }
        int64_t mult;
        if (strncmp(p, "ms", 2) == 0) {
            mult = 1;
            p += 2;
        } else if (*p == 's') {
            mult = 1000;
            p++;
        } else if (*p == 'm') {
            mult = 60 * 1000;
            p++;
        } else if (*p == 'h') {
            mult = 3600 * 1000;
            p++;
        } else if (*p == 'd') {
            mult = 86400 * 1000;
            p++;
        } else if (*p == '\0' && p - s > 0 && total == 0 && strspn(s, "0123456789") == strlen(s)) {
            mult = 1000; /* a bare integer is seconds */
        } else {
            return -1;
        }
        if (n > (INT64_MAX - total) / mult)
            return -1;
        total += n * mult;
    }
    *out_ms = total;
    return 0;
}

int sqp_parse_size_bytes(const char *s, uint64_t bare_unit, uint64_t *out_bytes)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    const char *p = s;
    uint64_t whole = 0;
    while (isdigit((unsigned char)*p)) {
        if (whole > (UINT64_MAX - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(*p++ - '0');
    }
    /* Up to 6 fractional digits, kept as millionths. */
    uint64_t frac = 0, frac_scale = 1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            if (frac_scale < 1000000) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_scale *= 10;
            }
            p++;
        }
    }
    uint64_t mult;
    switch (toupper((unsigned char)*p)) {
    case '\0': mult = bare_unit; break;
    case 'B': mult = 1; p++; break;
    case 'K': mult = 1ULL << 10; p++; break;
    case 'M': mult = 1ULL << 20; p++; break;
    case 'G': mult = 1ULL << 30; p++; break;
    case 'T': mult = 1ULL << 40; p++; break;
    default: return -1;
    }
    if (mult > 1 || *p) {
        /* optional "i", "B", "iB" after a multiplier letter */
        if (*p == 'i' || *p == 'I')
            p++;
        if ((*p == 'b' || *p == 'B') && mult > 1)
            p++;
    }
    if (*p)
        return -1;
    if (mult == 0 || whole > UINT64_MAX / mult)
        return -1;
    uint64_t bytes = whole * mult;
    if (frac) {
        /* mult ≤ 2^40 and frac < 10^6, so frac * mult < 2^60: no overflow. */
        uint64_t add = frac * mult / frac_scale;
        if (bytes > UINT64_MAX - add)
            return -1;
        bytes += add;
    }
    *out_bytes = bytes;
    return 0;
}

char *sqp_format_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(out, outlen, "%llu B", (unsigned long long)n);
        return out;
    }
    double v = (double)n / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", v, units[u]);
    return out;
}

char *sqp_format_duration(int64_t ms, char *out, size_t outlen)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf(out, outlen, "%lldms", (long long)ms);
    else if (ms < 60 * 1000)
        snprintf(out, outlen, "%lld.%llds", (long long)(ms / 1000), (long long)(ms % 1000 / 100));
    else if (ms < 3600 * 1000)
        snprintf(out, outlen, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    else
        snprintf(out, outlen, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms % 3600000 / 60000));
    return out;
}

size_t sqp_kv_key_len(const char *s)
{
    if (!s)
        return 0;
    const char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return 0;
    return (size_t)(eq - s);
}

bool sqp_split_remote(const char *s, char id[32], const char **path)
{
    if (!s)
        return false;
    const char *colon = strchr(s, ':');
    if (!colon || colon[1] == '\0' || (size_t)(colon - s) >= 32)
        return false;
    char tmp[32];
    memcpy(tmp, s, (size_t)(colon - s));
    tmp[colon - s] = '\0';
    if (!sq_id_valid(tmp, "sbx"))
        return false;
    memcpy(id, tmp, sizeof tmp);
    *path = colon + 1;
    return true;
}
