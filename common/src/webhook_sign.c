/* webhook_sign.c — see webhook_sign.h. HMAC-SHA256 comes from libcrypto. */
#include "sq/webhook_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq/codec.h"

int sq_wh_key_from_secret(const char *secret, sq_wh_key *key, sq_err *err)
{
    memset(key, 0, sizeof *key);
    if (!secret)
        return sq_err_set(err, SQ_INVALID_REQUEST, "no webhook secret");
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    size_t n = strlen(secret);
    while (n > 0 && secret[n - 1] == '=')
        n--;
    /* base64 of at most SQ_WH_KEY_MAX bytes, padded back to a multiple of 4. */
    if (n == 0 || n % 4 == 1 || n > (SQ_WH_KEY_MAX + 2) / 3 * 4)
        return sq_err_set(err, SQ_INVALID_REQUEST, "a webhook secret is whsec_ followed by base64 of 1-%d bytes",
                          SQ_WH_KEY_MAX);
    char padded[(SQ_WH_KEY_MAX + 2) / 3 * 4 + 4];
    memcpy(padded, secret, n);
    size_t p = n;
    while (p % 4)
        padded[p++] = '=';
    unsigned char out[sizeof padded];
    long got = sq_b64_decode(padded, p, out);
    if (got <= 0 || (size_t)got > SQ_WH_KEY_MAX) {
        OPENSSL_cleanse(out, sizeof out);
        return sq_err_set(err, SQ_INVALID_REQUEST, "a webhook secret is whsec_ followed by base64");
    }
    memcpy(key->k, out, (size_t)got);
    key->len = (size_t)got;
    OPENSSL_cleanse(out, sizeof out);
    return 0;
}

static void mac(const sq_wh_key *key, const char *msg_id, int64_t timestamp, const void *body, size_t len,
                unsigned char md[32])
{
    char prefix[256];
    int pn = snprintf(prefix, sizeof prefix, "%s.%lld.", msg_id, (long long)timestamp);
    /* Ids are short; a longer one is hashed in pieces all the same. */
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(m);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
    size_t outl = 0;
    EVP_MAC_init(c, key->k, key->len, params);
    if (pn >= 0 && (size_t)pn < sizeof prefix) {
        EVP_MAC_update(c, (const unsigned char *)prefix, (size_t)pn);
    } else {
        EVP_MAC_update(c, (const unsigned char *)msg_id, strlen(msg_id));
        char ts[32];
        int tn = snprintf(ts, sizeof ts, ".%lld.", (long long)timestamp);
        EVP_MAC_update(c, (const unsigned char *)ts, (size_t)tn);
    }
    EVP_MAC_update(c, body, len);
    EVP_MAC_final(c, md, &outl, 32);
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
}

void sq_wh_sign(const sq_wh_key *key, const char *msg_id, int64_t timestamp, const void *body, size_t len,
                char out[SQ_WH_SIG_MAX])
{
    unsigned char md[32];
    mac(key, msg_id, timestamp, body, len, md);
    memcpy(out, "v1,", 3);
    sq_b64_encode(md, sizeof md, out + 3);
}

int sq_wh_signature_header(const sq_wh_key *keys, size_t nkeys, const char *msg_id, int64_t timestamp,
                           const void *body, size_t len, char out[SQ_WH_HEADER_MAX])
{
    if (nkeys == 0 || nkeys > 2)
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < nkeys; i++) {
        char sig[SQ_WH_SIG_MAX];
        sq_wh_sign(&keys[i], msg_id, timestamp, body, len, sig);
        if (i)
            strcat(out, " ");
        strcat(out, sig);
    }
    return 0;
}

bool sq_wh_verify(const sq_wh_key *key, const char *msg_id, const char *timestamp, const void *body, size_t len,
                  const char *header, int64_t now_s, int64_t tolerance_s)
{
    if (!msg_id || !timestamp || !header || !*timestamp)
        return false;
    char *end;
    long long ts = strtoll(timestamp, &end, 10);
    if (*end != '\0' || ts - now_s > tolerance_s || now_s - ts > tolerance_s)
        return false;
    char want[SQ_WH_SIG_MAX];
    sq_wh_sign(key, msg_id, ts, body, len, want);
    size_t wl = strlen(want);
    bool ok = false;
    for (const char *p = header; *p;) {
        size_t n = strcspn(p, " ");
        if (n == wl && CRYPTO_memcmp(p, want, wl) == 0)
            ok = true;
        p += n;
        p += strspn(p, " ");
    }
    return ok;
}
