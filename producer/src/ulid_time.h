/* ulid_time.h — the creation time a ULID-based id carries (its first 10 characters,
 * Crockford base32 milliseconds). Pure. */
#ifndef SQP_ULID_TIME_H
#define SQP_ULID_TIME_H

#include <stdint.h>

/* id is "<prefix>_<ULID>". Returns 0 and *ms, or -1 if the id has no valid ULID. */
int sqp_id_time_ms(const char *id, int64_t *ms);

#endif
