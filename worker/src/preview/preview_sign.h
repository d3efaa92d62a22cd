/* preview_sign.h — the live preview's signed, expiring URLs (docs/handoff.md).
 *
 * A viewer URL carries the sandbox id (in its path), the mode (`view` or
 * `control`), the expiry (epoch ms) and an HMAC-SHA256 over the three, keyed
 * with the worker's preview key: whoever holds the URL may watch (view) or
 * also act (control) until it expires, and nobody can turn a view URL into a
 * control URL, move its expiry or point it at another sandbox. The check is
 * constant-time. Pure (the key and the clock are given). */
#ifndef SQ_PREVIEW_SIGN_H
#define SQ_PREVIEW_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_PREVIEW_KEY_LEN 32
#define SQ_PREVIEW_SIG_HEX 64

typedef enum sq_preview_mode { SQ_PREVIEW_VIEW, SQ_PREVIEW_CONTROL } sq_preview_mode;

typedef enum sq_preview_check {
    SQ_PREVIEW_OK,
    SQ_PREVIEW_BAD,     /* malformed or forged */
    SQ_PREVIEW_EXPIRED, /* genuine but past its expiry */
} sq_preview_check;

const char *sq_preview_mode_name(sq_preview_mode m); /* "view" | "control" */
bool sq_preview_mode_parse(const char *s, sq_preview_mode *out);

/* The signature (lowercase hex) of (sandbox_id, mode, expires_at). */
void sq_preview_sign(const unsigned char key[SQ_PREVIEW_KEY_LEN], const char *sandbox_id, sq_preview_mode mode,
                     int64_t expires_at, char out[SQ_PREVIEW_SIG_HEX + 1]);
/* Check a URL's parts (strings as they came in the query; any may be NULL). */
sq_preview_check sq_preview_verify(const unsigned char key[SQ_PREVIEW_KEY_LEN], const char *sandbox_id,
                                   const char *mode, const char *expires, const char *sig, int64_t now,
                                   sq_preview_mode *mode_out);
/* The viewer URL: <base>/preview/<sbx>?m=<mode>&e=<expires>&s=<sig> (base without
 * a trailing slash). Returns the length written (truncated to size). */
int sq_preview_url(const unsigned char key[SQ_PREVIEW_KEY_LEN], const char *base, const char *sandbox_id,
                   sq_preview_mode mode, int64_t expires_at, char *out, size_t size);

#endif
