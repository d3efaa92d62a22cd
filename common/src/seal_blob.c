/* seal_blob.c — see seal_blob.h. */
#include "sq/seal_blob.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sq/codec.h"

#define NONCE 12
#define TAG 16

int sq_random_bytes(void *buf, size_t n, sq_err *err)
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

int sq_seal_blob(const sq_wh_box *box, const char *aad, const char *text, size_t len, char **out, sq_err *err)
{
    *out = NULL;
    if (!box->has_key)
        return sq_err_set(err, SQ_CAPABILITY_UNAVAILABLE, "sealing needs SANDQ_WEBHOOK_SECRET_KEY (the worker key)");
    if (len > SQ_SEAL_BLOB_MAX)
        return sq_err_set(err, SQ_LIMIT_EXCEEDED, "text to seal is larger than %u bytes", SQ_SEAL_BLOB_MAX);
    unsigned char *buf = malloc(NONCE + len + TAG);
    char *txt = malloc(3 + sq_b64_encoded_size(NONCE + len + TAG));
    if (!buf || !txt) {
        free(buf);
        free(txt);
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    }
    int l = 0, fin = 0;
    int ok = sq_random_bytes(buf, NONCE, err) == 0;
    EVP_CIPHER_CTX *c = ok ? EVP_CIPHER_CTX_new() : NULL;
    ok = ok && c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, box->key, buf) == 1 &&
         EVP_EncryptUpdate(c, NULL, &l, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
         EVP_EncryptUpdate(c, buf + NONCE, &l, (const unsigned char *)text, (int)len) == 1 &&
         EVP_EncryptFinal_ex(c, buf + NONCE + l, &fin) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE + l + fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(buf);
        free(txt);
        if (err->code == SQ_OK)
            sq_err_set(err, SQ_INTERNAL, "sealing failed");
        return -1;
    }
    memcpy(txt, "v1:", 3);
    sq_b64_encode(buf, (size_t)(NONCE + l + fin + TAG), txt + 3);
    free(buf);
    *out = txt;
    return 0;
}

int sq_open_blob(const sq_wh_box *box, const char *aad, const char *sealed, char **out, size_t *len, sq_err *err)
{
    *out = NULL;
    *len = 0;
    if (strncmp(sealed, "v1:", 3) != 0)
        return sq_err_set(err, SQ_INTERNAL, "sealed text has an unknown format");
    if (!box->has_key)
        return sq_err_set(err, SQ_CAPABILITY_UNAVAILABLE, "a sealed text needs SANDQ_WEBHOOK_SECRET_KEY");
    size_t bl = strlen(sealed + 3);
    if (bl > sq_b64_encoded_size(NONCE + SQ_SEAL_BLOB_MAX + TAG))
        return sq_err_set(err, SQ_INTERNAL, "sealed text too long");
    unsigned char *buf = malloc(bl / 4 * 3 + 4);
    if (!buf)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    long n = sq_b64_decode(sealed + 3, bl, buf);
    if (n < NONCE + TAG) {
        free(buf);
        return sq_err_set(err, SQ_INTERNAL, "sealed text is malformed");
    }
    int ct = (int)(n - NONCE - TAG), l = 0, fin = 0;
    char *plain = malloc((size_t)ct + 1);
    if (!plain) {
        free(buf);
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, box->key, buf) == 1 &&
             EVP_DecryptUpdate(c, NULL, &l, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
             EVP_DecryptUpdate(c, (unsigned char *)plain, &l, buf + NONCE, ct) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, buf + NONCE + ct) == 1 &&
             EVP_DecryptFinal_ex(c, (unsigned char *)plain + l, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    free(buf);
    if (!ok) {
        OPENSSL_cleanse(plain, (size_t)ct + 1);
        free(plain);
        return sq_err_set(err, SQ_INTERNAL, "a sealed text does not open (wrong SANDQ_WEBHOOK_SECRET_KEY, or tampered)");
    }
    plain[l + fin] = '\0';
    *out = plain;
    *len = (size_t)(l + fin);
    return 0;
}
