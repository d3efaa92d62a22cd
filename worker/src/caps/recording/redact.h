/* redact.h — removing secrets from what the recording keeps (docs/recording.md,
 * docs/security.md). Pure.
 *
 * The secrets are the values of the sandbox's create-time env and of a task's
 * env. A user may well pass one on a command line verbatim (`curl -H
 * "Authorization: $TOKEN"` expanded by the caller), or a command may print it,
 * so every string the recording keeps has every occurrence of every such
 * value replaced by "[redacted]". Values shorter than SQ_REDACT_MIN_LEN are
 * not secrets worth the damage (redacting every "1" would make the trail
 * unreadable) and are left alone; docs/security.md says so. */
#ifndef SQ_REDACT_H
#define SQ_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SQ_REDACT_MIN_LEN 4
#define SQ_REDACT_MARK "[redacted]"

typedef struct sq_redactor {
    const char **vals;   /* borrowed from the json objects given to sq_redactor_init */
    size_t *lens;
    size_t n;
    size_t max_len;      /* longest value: how much of a stream's tail may still be a secret's start */
} sq_redactor;

/* The values of env objects (either may be NULL): string values of at least
 * SQ_REDACT_MIN_LEN bytes, longest first (so a secret containing another is
 * replaced whole). The objects must outlive the redactor. -1: out of memory. */
int sq_redactor_init(sq_redactor *r, const json_t *env_a, const json_t *env_b);
void sq_redactor_free(sq_redactor *r);

/* in[0..len) with every secret replaced; malloc'd, NUL-terminated, *out_len set. */
char *sq_redact(const sq_redactor *r, const char *in, size_t len, size_t *out_len);

/* A deep copy of v with every string (values, not keys) redacted. */
json_t *sq_redact_json(const sq_redactor *r, const json_t *v);

/* Streaming: the bytes of a stream arrive in chunks, and a secret may straddle
 * two. buf[0..len) is what is pending (the previous call's carry, then the new
 * chunk). Writes the redacted part that is safe to release to *out (malloc'd,
 * *out_len) and returns how many bytes at the end of buf must be carried into
 * the next call: those that may be the start of a secret, plus an incomplete
 * UTF-8 sequence. final: nothing more will come, release everything. */
size_t sq_redact_stream(const sq_redactor *r, const char *buf, size_t len, bool final, char **out, size_t *out_len);

#endif
