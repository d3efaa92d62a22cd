/* outputs_glob.h — which workspace paths a task's `outputs` patterns select (pure).
 *
 * Patterns are relative to /workspace ("/workspace/" or "./" in front is dropped)
 * and matched segment by segment: `*`, `?` and `[…]` never cross a '/' (fnmatch
 * FNM_PATHNAME, so `*.csv` is the top directory only), a leading dot must be
 * matched explicitly (FNM_PERIOD), and a whole segment `**` matches any number of
 * directories (zero included). The walk that applies them is artifacts/export.c:
 * it asks sq_glob_dir_may_match before descending, so the pattern out/X.csv never reads
 * the rest of the tree. Unit-tested in tests/unit/test_artifact_rules.c. */
#ifndef SQ_OUTPUTS_GLOB_H
#define SQ_OUTPUTS_GLOB_H

#include <stdbool.h>

#include "sq/err.h"

/* Strip "/workspace/" or "./"; refuse "..", absolute paths elsewhere, empty
 * patterns. Returns the pattern's start inside pat, or NULL with err. */
const char *sq_glob_normalize(const char *pat, sq_err *err);
/* Does rel (a file's path relative to /workspace) match the normalized pattern? */
bool sq_glob_match(const char *pattern, const char *rel);
/* Could anything below directory dir_rel ("" for /workspace) match? */
bool sq_glob_dir_may_match(const char *pattern, const char *dir_rel);

#endif
