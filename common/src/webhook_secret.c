/* webhook_secret.c — see webhook_secret.h. */
#include "sq/webhook_secret.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq/codec.h"
#include "sq/seal_blob.h"

#define NONCE 12
#define TAG 16
#define PLAIN_MAX 256

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

/* Sealed text has one format, "v1:" base64(nonce | ciphertext | tag) with the
 * aad bound in (sq/seal_blob.h); a secret is a short one, in a fixed buffer. */
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
    char *sealed = NULL;
    if (sq_seal_blob(box, aad, secret, n, &sealed, err) < 0)
        return sq_err_set(err, SQ_INTERNAL, "sealing a webhook secret failed");
    snprintf(out, SQ_WH_SEALED_MAX, "%s", sealed); /* 3 + b64(12 + 256 + 16) < SQ_WH_SEALED_MAX */
    free(sealed);
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
    if (strlen(sealed + 3) > sq_b64_encoded_size(NONCE + PLAIN_MAX + TAG) - 1)
        return sq_err_set(err, SQ_INTERNAL, "stored webhook secret too long");
    char *plain = NULL;
    size_t n = 0;
    if (sq_open_blob(box, aad, sealed, &plain, &n, err) < 0)
        return sq_err_set(err, SQ_INTERNAL, "a stored webhook secret does not open (wrong SANDQ_WEBHOOK_SECRET_KEY?)");
    int rc = 0;
    if (n >= outsz)
        rc = sq_err_set(err, SQ_INTERNAL, "stored webhook secret is malformed");
    else
        memcpy(out, plain, n + 1);
    OPENSSL_cleanse(plain, n);
    free(plain);
    return rc;
}

int sq_wh_secret_generate(char *out, size_t outsz, sq_err *err)
{
    unsigned char k[24];
    if (outsz < 6 + sq_b64_encoded_size(sizeof k))
        return sq_err_set(err, SQ_INTERNAL, "buffer too small");
    if (sq_random_bytes(k, sizeof k, err) < 0)
        return -1;
    memcpy(out, "whsec_", 6);
    sq_b64_encode(k, sizeof k, out + 6);
    OPENSSL_cleanse(k, sizeof k);
    return 0;
}
