/* units.h — parsing and formatting of what people type on a command line:
 * durations ("500ms", "30s", "1h30m"), sizes ("512M", "2G"), "KEY=VALUE" pairs and
 * "SBX:path" remote paths. Pure: no I/O, no allocation. Unit-tested
 * (tests/unit/test_cli_args.c). */
#ifndef SQP_UNITS_H
#define SQP_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A duration: one or more <integer><unit> groups, unit ms, s, m, h or d ("1h30m",
 * "500ms"); a bare integer is seconds. Returns 0 and *out_ms, or -1 if malformed,
 * negative or overflowing. */
int sqp_parse_duration_ms(const char *s, int64_t *out_ms);

/* A size: an integer or decimal with an optional binary suffix K, M, G, T (each may
 * be followed by "i", "B" or "iB"; case-insensitive): "512M", "1.5G", "64KiB". A bare
 * number is multiplied by `bare_unit` (1 for bytes, 1<<20 for "MiB by default").
 * Returns 0 and *out_bytes, or -1 if malformed, negative or overflowing. */
int sqp_parse_size_bytes(const char *s, uint64_t bare_unit, uint64_t *out_bytes);

/* "3.0 MiB", "512 B" into out (≥ 16 bytes). Returns out. */
char *sqp_format_bytes(uint64_t n, char *out, size_t outlen);
/* "1.2s", "850ms", "2m05s", "1h02m" into out (≥ 16 bytes). Returns out. */
char *sqp_format_duration(int64_t ms, char *out, size_t outlen);

/* "KEY=VALUE": key non-empty, no '=' in it, no NUL; the value may be empty.
 * Returns the length of the key, or 0 if s is not a valid pair. */
size_t sqp_kv_key_len(const char *s);

/* Split "SBX:path" (a remote path argument) into the sandbox id and the path. True if
 * s starts with a valid "sbx_<ULID>" followed by ':' and a non-empty path; *path
 * points into s. id must hold 32 bytes. */
bool sqp_split_remote(const char *s, char id[32], const char **path);

#endif
