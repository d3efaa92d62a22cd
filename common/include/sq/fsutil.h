/* fsutil.h — small filesystem helpers shared by the worker and its runtime. */
#ifndef SQ_FSUTIL_H
#define SQ_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: intermediate directories get 0755, the last one `leaf_mode`.
 * Existing directories are fine. Returns 0, or -1 with errno set. */
int sq_mkdir_p(const char *path, mode_t leaf_mode);

#endif
