/* netstack.c — the "internet" network mode: a user-mode network stack.
 *
 *   plan (parent, before clone)   find slirp4netns and nft; list the host's
 *                                 IPv4 addresses; render the egress rules
 *                                 (netpolicy.c)
 *   attach (parent, child waits   nft loads the rules into the child's network
 *   for RELEASE)                  namespace while, side by side,
 *                                 slirp4netns --configure … <child pid> tap0
 *                                 joins the child's namespaces, creates tap0
 *                                 (10.0.2.100/24, default route via 10.0.2.2,
 *                                 DNS at 10.0.2.3) and says "1" on its ready
 *                                 fd; the child is released after both
 *   rootfs (child)                /etc/resolv.conf says nameserver 10.0.2.3,
 *                                 or SANDQ_SANDBOX_DNS's servers (then
 *                                 slirp4netns runs with --disable-dns)
 *   stop (destroy)                close slirp4netns's exit fd; reap it by
 *                                 its pidfd
 *
 * Why slirp4netns (Debian's package, as rootless podman uses it): it opens
 * plain sockets on the host side, so no bridge, veth, iptables NAT or
 * forwarding on the host is needed, and --disable-host-loopback keeps its
 * gateway address from leading to the host's 127.0.0.1. It runs as root with
 * its own --enable-sandbox (empty mount namespace, capabilities dropped) and
 * --enable-seccomp. pasta would be faster, but the bookworm version forwards
 * the host's loopback ports into the namespace unless told not to port by
 * port; slirp4netns's defaults are the safer ones.
 *
 * The process: a helper (helper.h) tied to the starting thread like the
 * sandbox, with an exit fd whose write end only the worker holds — when the
 * worker dies, the fd closes and slirp4netns exits. It is reaped by its own
 * pidfd, never by waitpid(-1). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "netpolicy.h"
#include "sandbox_int.h"
#include "sq/cleanup.h"

#define SQ_NET_READY_TIMEOUT_MS 10000
#define SQ_NFT_TIMEOUT_MS 10000
#define SQ_SLIRP_STOP_MS 2000
#define SQ_MAX_HOST_ADDRS 256
#define SQ_RULES_MAX 65536


static size_t host_addrs(uint32_t *out, size_t max)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0)
        return 0;
    size_t n = 0;
    for (struct ifaddrs *i = ifa; i && n < max; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
            out[n++] = ntohl(((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr);
    freeifaddrs(ifa);
    return n;
}

int sq_plan_network(struct sq_setup *s, sq_err *err)
{
    if (s->opts->network != SQ_NET_INTERNET)
        return 0;
    if (sq_helper_find("SANDQ_SLIRP4NETNS", "slirp4netns", s->slirp_path, sizeof s->slirp_path, err) < 0 ||
        sq_helper_find("SANDQ_NFT", "nft", s->nft_path, sizeof s->nft_path, err) < 0)
        return sq_err_wrap(err, "internet network mode");
    uint32_t addrs[SQ_MAX_HOST_ADDRS], dns[SQ_DNS_MAX];
    size_t ndns;
    if (sq_netpolicy_dns_parse(s->opts->dns, dns, &ndns, err) < 0)
        return -1;
    sq_netpolicy p = {.host_addrs = addrs,
                      .nhost = host_addrs(addrs, SQ_MAX_HOST_ADDRS),
                      .allow = s->opts->net_allow,
                      .deny = s->opts->net_deny,
                      .dns = dns,
                      .ndns = ndns,
                      .out_allow = s->opts->out_allow,
                      .out_deny = s->opts->out_deny,
                      .proxy_addr = s->opts->proxy_addr,
                      .proxy_port = s->opts->proxy_port};
    if (!(s->nft_rules = malloc(SQ_RULES_MAX)))
        return sq_err_errno(err, "malloc");
    return sq_netpolicy_render(&p, s->nft_rules, SQ_RULES_MAX, err);
}

void sq_plan_network_free(struct sq_setup *s)
{
    free(s->nft_rules);
    s->nft_rules = NULL;
}

static int start_slirp(const struct sq_setup *s, sq_sandbox *sb, sq_err *err)
{
    int ready[2], exitp[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return sq_err_errno(err, "pipe");
    if (pipe2(exitp, O_CLOEXEC) < 0) {
        int e = errno;
        close(ready[0]);
        close(ready[1]);
        errno = e;
        return sq_err_errno(err, "pipe");
    }
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)sb->pid);
    /* With SANDQ_SANDBOX_DNS, slirp4netns's own forwarder is off: 10.0.2.3
     * would relay to the host's resolver (a loopback one included, since
     * --disable-host-loopback covers only 10.0.2.2), and the sandbox uses the
     * operator's resolvers instead (resolv.conf, the egress chain). */
    bool own_dns = s->opts->dns && s->opts->dns[strspn(s->opts->dns, ", \t\n")];
    const char *argv[12] = {s->slirp_path, "--configure", "--mtu=65520", "--disable-host-loopback",
                            "--enable-sandbox", "--enable-seccomp", "--ready-fd=3", "--exit-fd=4"};
    size_t argc = 8;
    if (own_dns)
        argv[argc++] = "--disable-dns";
    argv[argc++] = pid;
    argv[argc++] = "tap0";
    argv[argc] = NULL;
    sq_helper_opts o = {.path = s->slirp_path, .argv = argv, .netns_fd = -1, .stdin_fd = -1,
                        .fds = {ready[1], exitp[0]}};
    int rc = sq_helper_spawn(&o, &sb->net, err);
    close(ready[1]);
    close(exitp[0]);
    if (rc < 0) {
        close(ready[0]);
        close(exitp[1]);
        return -1;
    }
    sb->net_exit_fd = exitp[1];

    /* "1" on the ready fd once tap0 is configured; EOF if it died first. */
    struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
    int n;
    while ((n = poll(&pfd, 1, SQ_NET_READY_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    char c = 0;
    ssize_t got = n > 0 ? read(ready[0], &c, 1) : 0;
    close(ready[0]);
    if (got == 1 && c == '1')
        return 0;
    close(sb->net_exit_fd);
    sb->net_exit_fd = -1;
    if (n == 0) {
        sq_helper_kill(&sb->net);
        sq_err_set(err, SQ_INTERNAL, "slirp4netns was not ready within %d ms", SQ_NET_READY_TIMEOUT_MS);
    } else if (sq_helper_wait(&sb->net, SQ_SLIRP_STOP_MS, err) == 0) {
        sq_err_set(err, SQ_INTERNAL, "slirp4netns exited before it was ready");
    }
    return sq_err_wrap(err, "internet network mode");
}

/* Start nft loading the rules into the child's network namespace; *h is
 * waited for by the caller. */
static int start_rules(const struct sq_setup *s, sq_sandbox *sb, sq_helper *h, sq_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)sb->pid);
    sq_autoclose int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0)
        return sq_err_errno(err, "open %s", path);
    sq_autoclose int rules = memfd_create("sandq-nft", MFD_CLOEXEC);
    size_t len = strlen(s->nft_rules);
    if (rules < 0 || write(rules, s->nft_rules, len) != (ssize_t)len || lseek(rules, 0, SEEK_SET) < 0)
        return sq_err_errno(err, "nft rules");
    const char *argv[] = {s->nft_path, "-f", "/dev/stdin", NULL};
    sq_helper_opts o = {.path = s->nft_path, .argv = argv, .netns_fd = ns, .stdin_fd = rules, .fds = {-1, -1}};
    return sq_helper_spawn(&o, h, err);
}

int sq_parent_network(const struct sq_setup *s, sq_sandbox *sb, sq_err *err)
{
    if (s->opts->network != SQ_NET_INTERNET)
        return 0;
    /* nft and slirp4netns start side by side: nothing in the sandbox runs
     * (so no packet can leave) until both are done and the child is
     * released, and the chain matches destinations, not devices, so it
     * does not care whether tap0 exists yet. */
    sq_helper nft;
    if (start_rules(s, sb, &nft, err) < 0)
        return sq_err_wrap(err, "internet network mode: egress rules");
    sq_err slirp_err;
    int slirp_rc = start_slirp(s, sb, &slirp_err);
    if (sq_helper_wait(&nft, SQ_NFT_TIMEOUT_MS, err) < 0) {
        sq_network_stop(sb);
        return sq_err_wrap(err, "internet network mode: egress rules");
    }
    if (slirp_rc < 0) {
        *err = slirp_err;
        return -1;
    }
    return 0;
}

void sq_network_stop(sq_sandbox *sb)
{
    if (sb->net_exit_fd >= 0) {
        close(sb->net_exit_fd);
        sb->net_exit_fd = -1;
        sq_err ignored;
        sq_helper_wait(&sb->net, SQ_SLIRP_STOP_MS, &ignored);
    }
    sq_helper_kill(&sb->net); /* no-op once reaped */
}
