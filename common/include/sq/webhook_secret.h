/* webhook_secret.h — webhook secrets at rest, and new secrets.
 *
 * PostgreSQL must keep endpoint secrets (deliveries outlive the worker that
 * accepted them), so they are sealed with AES-256-GCM under a key from
 * SANDQ_WEBHOOK_SECRET_KEY (base64 of 32 bytes, the same on every worker and
 * for the `sandq webhooks` CLI). The stored form is
 *     "v1:" base64(nonce[12] | ciphertext | tag[16])
 * with the endpoint id as associated data, so a sealed secret copied onto
 * another endpoint's row does not open. Without a key the secret is stored as
 * "plain:<secret>" and the worker warns at start — for local stacks only.
 *
 * No I/O besides getrandom(2); unit-tested in tests/unit/test_webhook_sign.c. */
#ifndef SQ_WEBHOOK_SECRET_H
#define SQ_WEBHOOK_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "sq/err.h"

#define SQ_WH_BOX_KEY_LEN 32
#define SQ_WH_SEALED_MAX 512

typedef struct sq_wh_box {
    bool has_key;
    unsigned char key[SQ_WH_BOX_KEY_LEN];
} sq_wh_box;

/* From base64 key text (NULL or "" = no key: secrets stored plain). */
int sq_wh_box_init(sq_wh_box *box, const char *key_b64, sq_err *err);

/* Seal secret for the endpoint `aad` into out. */
int sq_wh_box_seal(const sq_wh_box *box, const char *aad, const char *secret, char out[SQ_WH_SEALED_MAX],
                   sq_err *err);
/* Open a stored secret into out (NUL-terminated). Fails on tampering, a wrong
 * key or aad, or a sealed value when the box has no key. */
int sq_wh_box_open(const sq_wh_box *box, const char *aad, const char *sealed, char *out, size_t outsz,
                   sq_err *err);

/* A new "whsec_" + base64 of 24 random bytes (getrandom). */
int sq_wh_secret_generate(char *out, size_t outsz, sq_err *err);

#endif
