/* cleanup.h — scope-bound cleanup attributes, as in bubblewrap's utils.h.
 * `sq_autofree char *p = ...;` is freed on every return path, so early returns
 * in long set-up sequences cannot leak. */
#ifndef SQ_CLEANUP_H
#define SQ_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>

static inline void sq_freep(void *p) { free(*(void **)p); }
static inline void sq_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void sq_fclosep(FILE **f) { if (*f) fclose(*f); }

#define sq_autofree __attribute__((cleanup(sq_freep)))
#define sq_autoclose __attribute__((cleanup(sq_closep)))
#define sq_autofclose __attribute__((cleanup(sq_fclosep)))

/* Take ownership out of an auto variable: `return sq_steal_fd(&fd);` */
static inline int sq_steal_fd(int *fd) { int r = *fd; *fd = -1; return r; }
static inline void *sq_steal_ptr(void *pp) { void **p = pp; void *r = *p; *p = NULL; return r; }

#endif
