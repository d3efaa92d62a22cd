/* utf8.h — is a byte string valid UTF-8 that can travel as a JSON string field
 * (`stdin`, `content`) rather than base64? Pure. */
#ifndef SQP_UTF8_H
#define SQP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if buf is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF) and has
 * no NUL byte. */
bool sqp_utf8_text(const void *buf, size_t len);

#endif
