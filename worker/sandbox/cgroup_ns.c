/* cgroup_ns.c — the cgroup namespace, child side.
 *
 * Unshared here rather than at clone: a cgroup namespace's root is the cgroup
 * its creator is in when it is created, and only now has the parent moved us
 * into the sandbox's cgroup (cgroup.h). Inside, /proc/self/cgroup then reads
 * "/" instead of naming the worker's and the host's cgroup layout. Needs
 * CAP_SYS_ADMIN in our user namespace, which we hold until privs.c. */
#include <sched.h>

#include "sandbox_int.h"

int sq_child_cgroupns(struct sq_child *c)
{
    if (unshare(CLONE_NEWCGROUP) < 0)
        return sq_child_fail(c, "unshare(CLONE_NEWCGROUP)", NULL);
    return 0;
}
