/* webhook_sign.h — Standard Webhooks signatures (https://www.standardwebhooks.com/).
 *
 * A delivery carries three headers: webhook-id (the event id, the same on
 * every attempt), webhook-timestamp (unix seconds) and webhook-signature, a
 * space-separated list of "v1,<base64 HMAC-SHA256(id.timestamp.body)>". The
 * HMAC key is the base64-decoded part of a "whsec_…" secret. While a secret is
 * being rotated an endpoint has two, and every delivery carries one signature
 * per secret, so receivers holding either one verify it.
 *
 * Pure: no I/O, no clock; unit-tested in tests/unit/test_webhook_sign.c
 * against the spec's published test vector. */
#ifndef SQ_WEBHOOK_SIGN_H
#define SQ_WEBHOOK_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq/err.h"

#define SQ_WH_KEY_MAX 64       /* bytes of HMAC key; Svix/Standard Webhooks use 24-32 */
#define SQ_WH_SECRET_MAX 128   /* "whsec_" + base64 of the key + NUL */
#define SQ_WH_SIG_MAX 64       /* "v1," + 44 base64 chars + NUL, rounded up */
#define SQ_WH_HEADER_MAX (2 * SQ_WH_SIG_MAX)

typedef struct sq_wh_key {
    unsigned char k[SQ_WH_KEY_MAX];
    size_t len;
} sq_wh_key;

/* Decode "whsec_<base64>" (the prefix is optional, as in the reference
 * libraries; missing '=' padding is tolerated). Fails on an empty key, bad
 * base64 or a key longer than SQ_WH_KEY_MAX. */
int sq_wh_key_from_secret(const char *secret, sq_wh_key *key, sq_err *err);

/* "v1,<base64>" for msg_id.timestamp.body into out. */
void sq_wh_sign(const sq_wh_key *key, const char *msg_id, int64_t timestamp, const void *body, size_t len,
                char out[SQ_WH_SIG_MAX]);

/* The webhook-signature header value: one "v1,…" per key (1 or 2 keys, the
 * current one first), separated by a space. Returns -1 if nkeys is 0 or > 2. */
int sq_wh_signature_header(const sq_wh_key *keys, size_t nkeys, const char *msg_id, int64_t timestamp,
                           const void *body, size_t len, char out[SQ_WH_HEADER_MAX]);

/* What a receiver does: true if `header` holds a v1 signature made with key
 * over msg_id.timestamp.body and |now - timestamp| <= tolerance_s. Constant
 * time in the signature comparison. `timestamp` is the header's text. */
bool sq_wh_verify(const sq_wh_key *key, const char *msg_id, const char *timestamp, const void *body, size_t len,
                  const char *header, int64_t now_s, int64_t tolerance_s);

#endif
