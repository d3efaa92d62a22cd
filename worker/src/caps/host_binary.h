/* host_binary.h — finding a capability's program on the host (Chromium,
 * ffmpeg, soffice) at worker start. A sandbox sees the host's /usr read-only
 * and nothing else of it, so what the worker finds under /usr is what runs
 * inside; a path elsewhere could never run there and is refused. */
#ifndef SQ_CAPS_HOST_BINARY_H
#define SQ_CAPS_HOST_BINARY_H

#include <stddef.h>

/* The program named by the environment variable env_name, else fallback:
 * copied into found and returned when it is under /usr/ and executable;
 * otherwise found is emptied, why says what is wrong (with install_hint, the
 * package to install) and NULL is returned. */
const char *sq_host_binary_find(const char *env_name, const char *fallback, const char *install_hint, char *found,
                                size_t found_size, char *why, size_t why_size);

#endif
