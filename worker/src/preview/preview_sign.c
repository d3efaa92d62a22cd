/* preview_sign.c — see preview_sign.h. */
#include "preview/preview_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sq_preview_mode_name(sq_preview_mode m)
{
    return m == SQ_PREVIEW_CONTROL ? "control" : "view";
}

bool sq_preview_mode_parse(const char *s, sq_preview_mode *out)
{
    if (s && strcmp(s, "view") == 0)
        *out = SQ_PREVIEW_VIEW;
    else if (s && strcmp(s, "control") == 0)
        *out = SQ_PREVIEW_CONTROL;
    else
        return false;
    return true;
}

void sq_preview_sign(const unsigned char key[SQ_PREVIEW_KEY_LEN], const char *sandbox_id, sq_preview_mode mode,
                     int64_t expires_at, char out[SQ_PREVIEW_SIG_HEX + 1])
{
    /* A version tag and NUL separators: no two (id, mode, expiry) share a message. */
    char msg[256];
    int n = snprintf(msg, sizeof msg, "sandq-preview-v1%c%s%c%s%c%lld", 0, sandbox_id, 0, sq_preview_mode_name(mode),
                     0, (long long)expires_at);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key, SQ_PREVIEW_KEY_LEN, (const unsigned char *)msg, (size_t)(n < 0 ? 0 : n), mac, &mac_len);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    out[SQ_PREVIEW_SIG_HEX] = '\0';
}

sq_preview_check sq_preview_verify(const unsigned char key[SQ_PREVIEW_KEY_LEN], const char *sandbox_id,
                                   const char *mode, const char *expires, const char *sig, int64_t now,
                                   sq_preview_mode *mode_out)
{
    sq_preview_mode m;
    if (!sandbox_id || !sig || !expires || !sq_preview_mode_parse(mode, &m) || strlen(sig) != SQ_PREVIEW_SIG_HEX ||
        strlen(sandbox_id) > 64)
        return SQ_PREVIEW_BAD;
    if (*expires < '0' || *expires > '9') /* digits only: no sign, no blanks, one spelling per expiry */
        return SQ_PREVIEW_BAD;
    char *end = NULL;
    long long e = strtoll(expires, &end, 10);
    if (!*expires || *end || e <= 0)
        return SQ_PREVIEW_BAD;
    char want[SQ_PREVIEW_SIG_HEX + 1];
    sq_preview_sign(key, sandbox_id, m, e, want);
    /* Constant-time: how much of a forged signature matches tells nothing. */
    if (CRYPTO_memcmp(want, sig, SQ_PREVIEW_SIG_HEX) != 0)
        return SQ_PREVIEW_BAD;
    if (e <= now)
        return SQ_PREVIEW_EXPIRED;
    *mode_out = m;
    return SQ_PREVIEW_OK;
}

int sq_preview_url(const unsigned char key[SQ_PREVIEW_KEY_LEN], const char *base, const char *sandbox_id,
                   sq_preview_mode mode, int64_t expires_at, char *out, size_t size)
{
    char sig[SQ_PREVIEW_SIG_HEX + 1];
    sq_preview_sign(key, sandbox_id, mode, expires_at, sig);
    return snprintf(out, size, "%s/preview/%s?m=%s&e=%lld&s=%s", base, sandbox_id, sq_preview_mode_name(mode),
                    (long long)expires_at, sig);
}
