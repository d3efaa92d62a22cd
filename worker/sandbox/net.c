/* net.c — the network namespace: loopback only.
 *
 * A fresh network namespace has one interface, lo, and it is down; bring it
 * up so 127.0.0.1 works for servers and tests inside the sandbox. This is the
 * "none" network mode. Seam: the "internet" mode (a user-mode stack such as
 * pasta or slirp4netns attached from the parent to this namespace) adds a tap
 * device here later; the child needs nothing else from it. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox_int.h"

int sq_child_loopback(struct sq_child *c)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sq_child_fail(c, "socket", NULL);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    sq_strlcpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return sq_child_fail(c, "SIOCGIFFLAGS lo", NULL);
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return sq_child_fail(c, "SIOCSIFFLAGS lo", NULL);
    }
    close(fd);
    return 0;
}
