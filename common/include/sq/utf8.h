/* utf8.h — the one strict UTF-8 sequence decoder (pure).
 *
 * Strict means what RFC 3629 allows and nothing else: no overlong forms (C0 80
 * for NUL), no UTF-16 surrogates (U+D800..U+DFFF, which jansson and browsers
 * refuse), nothing above U+10FFFF, no 5- and 6-byte forms, no truncated
 * sequence. Task output, the agent's tool results and asciicast recordings all
 * decide "text or not" with it, so they agree on what is text. */
#ifndef SQ_UTF8_H
#define SQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1..4) of the well-formed UTF-8 sequence that starts at s[0]
 * within s[0..n), or 0 if there is none (also for n == 0). A NUL byte is a
 * sequence of length 1: callers that refuse NUL check for it themselves. */
size_t sq_utf8_seq(const unsigned char *s, size_t n);

/* Whether all of s[0..n) is well-formed UTF-8. */
bool sq_utf8_valid(const void *s, size_t n);

#endif
