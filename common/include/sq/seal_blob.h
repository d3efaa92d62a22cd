/* seal_blob.h — AES-256-GCM sealing of a text of any (bounded) size under the
 * worker key (the sq_wh_box of webhook secrets, SANDQ_WEBHOOK_SECRET_KEY).
 *
 * Used for a persisted sandbox's create-time spec, env included (issue 13,
 * docs/persistence.md): it must outlive the worker that created the sandbox,
 * so it is kept in PostgreSQL — sealed, never in clear. The stored form is
 * "v1:" base64(nonce[12] | ciphertext | tag[16]) with the sandbox id as
 * associated data (a sealed spec copied onto another sandbox does not open).
 * Unlike sq_wh_box_seal there is no "plain:" fallback: without a key nothing
 * is sealed (the caller refuses to persist). No I/O besides getrandom(2). */
#ifndef SQ_SEAL_BLOB_H
#define SQ_SEAL_BLOB_H

#include <stddef.h>

#include "sq/err.h"
#include "sq/webhook_secret.h"

#define SQ_SEAL_BLOB_MAX (4u << 20) /* the largest text sealed (a create body is far smaller) */

/* Seal text (len bytes) for aad; *out is malloc'ed, NUL-terminated. */
int sq_seal_blob(const sq_wh_box *box, const char *aad, const char *text, size_t len, char **out, sq_err *err);
/* Open a sealed text for aad; *out is malloc'ed, NUL-terminated, *len its size.
 * Fails on tampering, a wrong key or aad, or no key. */
int sq_open_blob(const sq_wh_box *box, const char *aad, const char *sealed, char **out, size_t *len, sq_err *err);

/* n random bytes (getrandom(2)). */
int sq_random_bytes(void *buf, size_t n, sq_err *err);

#endif
