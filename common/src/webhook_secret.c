/* webhook_secret.c — see webhook_secret.h. */
#include "sq/webhook_secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "sq/codec.h"

#define NONCE 12
#define TAG 16
#define PLAIN_MAX 256

static int fill_random(void *buf, size_t n, sq_err *err)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0)
            return sq_err_errno(err, "getrandom");
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int sq_wh_box_init(sq_wh_box *box, const char *key_b64, sq_err *err)
{
    memset(box, 0, sizeof *box);
    if (!key_b64 || !*key_b64)
        return 0;
    unsigned char k[64];
    size_t n = strlen(key_b64);
    if (n > 88 || sq_b64_decode(key_b64, n, k) != SQ_WH_BOX_KEY_LEN) {
        OPENSSL_cleanse(k, sizeof k);
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_WEBHOOK_SECRET_KEY",
                            "SANDQ_WEBHOOK_SECRET_KEY must be base64 of 32 bytes (openssl rand -base64 32)");
    }
    memcpy(box->key, k, SQ_WH_BOX_KEY_LEN);
    OPENSSL_cleanse(k, sizeof k);
    box->has_key = true;
    return 0;
}

int sq_wh_box_seal(const sq_wh_box *box, const char *aad, const char *secret, char out[SQ_WH_SEALED_MAX],
                   sq_err *err)
{
    size_t n = strlen(secret);
    if (n > PLAIN_MAX)
        return sq_err_set(err, SQ_INVALID_REQUEST, "webhook secret too long");
    if (!box->has_key) {
        snprintf(out, SQ_WH_SEALED_MAX, "plain:%s", secret);
        return 0;
    }
    unsigned char buf[NONCE + PLAIN_MAX + TAG];
    if (fill_random(buf, NONCE, err) < 0)
        return -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, box->key, buf) == 1 &&
                               EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
                               EVP_EncryptUpdate(c, buf + NONCE, &len, (const unsigned char *)secret, (int)n) == 1 &&
                               EVP_EncryptFinal_ex(c, buf + NONCE + len, &fin) == 1 &&
                               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE + len + fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        return sq_err_set(err, SQ_INTERNAL, "sealing a webhook secret failed");
    memcpy(out, "v1:", 3);
    sq_b64_encode(buf, (size_t)(NONCE + len + fin + TAG), out + 3);
    return 0;
}

int sq_wh_box_open(const sq_wh_box *box, const char *aad, const char *sealed, char *out, size_t outsz,
                   sq_err *err)
{
    if (strncmp(sealed, "plain:", 6) == 0) {
        if (strlen(sealed + 6) >= outsz)
            return sq_err_set(err, SQ_INTERNAL, "stored webhook secret too long");
        snprintf(out, outsz, "%s", sealed + 6);
        return 0;
    }
    if (strncmp(sealed, "v1:", 3) != 0)
        return sq_err_set(err, SQ_INTERNAL, "stored webhook secret has an unknown format");
    if (!box->has_key)
        return sq_err_set(err, SQ_INTERNAL, "a sealed webhook secret needs SANDQ_WEBHOOK_SECRET_KEY");
    unsigned char buf[NONCE + PLAIN_MAX + TAG + 4];
    size_t bl = strlen(sealed + 3);
    if (bl > sq_b64_encoded_size(sizeof buf - 4) - 1)
        return sq_err_set(err, SQ_INTERNAL, "stored webhook secret too long");
    long n = sq_b64_decode(sealed + 3, bl, buf);
    if (n < NONCE + TAG + 1 || (size_t)(n - NONCE - TAG) >= outsz)
        return sq_err_set(err, SQ_INTERNAL, "stored webhook secret is malformed");
    int ct = (int)(n - NONCE - TAG), len = 0, fin = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, box->key, buf) == 1 &&
             EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             EVP_DecryptUpdate(c, (unsigned char *)out, &len, buf + NONCE, ct) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, buf + NONCE + ct) == 1 &&
             EVP_DecryptFinal_ex(c, (unsigned char *)out + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, outsz);
        return sq_err_set(err, SQ_INTERNAL, "a stored webhook secret does not open (wrong SANDQ_WEBHOOK_SECRET_KEY?)");
    }
    out[len + fin] = '\0';
    return 0;
}

int sq_wh_secret_generate(char *out, size_t outsz, sq_err *err)
{
    unsigned char k[24];
    if (outsz < 6 + sq_b64_encoded_size(sizeof k))
        return sq_err_set(err, SQ_INTERNAL, "buffer too small");
    if (fill_random(k, sizeof k, err) < 0)
        return -1;
    memcpy(out, "whsec_", 6);
    sq_b64_encode(k, sizeof k, out + 6);
    OPENSSL_cleanse(k, sizeof k);
    return 0;
}
