/* codec.h — byte encodings used on the wire: base64 (RFC 4648, padded) and
 * sha256 hex. base64 is pure; sha256 uses libcrypto. */
#ifndef SQ_CODEC_H
#define SQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length including the terminating NUL. */
size_t sq_b64_encoded_size(size_t len);
/* Writes NUL-terminated base64 into out (sq_b64_encoded_size(len) bytes). */
void sq_b64_encode(const void *in, size_t len, char *out);
/* Decodes into out (at least len*3/4 bytes). Returns decoded length, or -1 on
 * malformed input (bad character, bad padding). Whitespace is not accepted. */
long sq_b64_decode(const char *in, size_t len, unsigned char *out);

/* sha256 of buf as 64 lowercase hex chars + NUL. */
void sq_sha256_hex(const void *buf, size_t len, char out[65]);

#endif
