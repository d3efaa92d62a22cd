/* host_binary.c — see host_binary.h. */
#include "caps/host_binary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *sq_host_binary_find(const char *env_name, const char *fallback, const char *install_hint, char *found,
                                size_t found_size, char *why, size_t why_size)
{
    const char *bin = getenv(env_name);
    if (!bin || !bin[0])
        bin = fallback;
    found[0] = '\0';
    if (strncmp(bin, "/usr/", 5) != 0) {
        snprintf(why, why_size, "%s is not under /usr, which is all of the host a sandbox sees", bin);
        return NULL;
    }
    if (access(bin, X_OK) < 0) {
        snprintf(why, why_size, "%s: %s (install %s)", bin, strerror(errno), install_hint);
        return NULL;
    }
    snprintf(found, found_size, "%s", bin);
    return found;
}
