/* ids.h — sandq ids: a prefix ("sbx_", "tsk_", …) and a 26-character ULID.
 * Clients generate ids so a sandbox's Kafka key is known before its first message. */
#ifndef SQ_IDS_H
#define SQ_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_ULID_LEN 26
#define SQ_ID_MAX 32   /* prefix (≤4) + ULID + NUL, rounded up */

/* Encode a ULID from a millisecond timestamp and 10 random bytes (pure). */
void sq_ulid_encode(uint64_t ms, const unsigned char rnd[10], char out[SQ_ULID_LEN + 1]);
/* A new ULID from the clock and getrandom(2). */
void sq_ulid_new(char out[SQ_ULID_LEN + 1]);
/* prefix is "sbx", "tsk", "req", "evt", "art", "chk" or "hnd"; out gets "sbx_01…". */
void sq_id_new(const char *prefix, char out[SQ_ID_MAX]);
/* True if s is exactly "<prefix>_" + a valid ULID (Crockford base32, first char ≤ '7'). */
bool sq_id_valid(const char *s, const char *prefix);

#endif
