/* seccomp.c — the system call filter, installed last before exec.
 *
 * Default allow; the calls Docker's default profile withholds fail with EPERM
 * (see deny_eperm). Docker's profile is an allow-list that also encodes
 * capability checks; ours is a deny-list because the sandbox has no
 * capabilities at all and the kernel already refuses their calls — what the
 * filter adds is the kernel surface a user namespace root *could* reach:
 * mounting, new namespaces, bpf, perf, keyrings, userfaultfd, io_uring, and
 * the calls that reach into other processes' memory.
 *
 * Argument filters:
 * - clone with any CLONE_NEW* flag: EPERM. clone3 passes its flags in memory,
 *   which seccomp cannot read, so clone3 fails with ENOSYS; glibc then falls
 *   back to clone, which we can check.
 * - socket(AF_VSOCK): EPERM. vsock is the host <-> VM channel; on a worker that
 *   is itself a VM guest it leads to the hypervisor's services (and vsock
 *   has had its share of kernel bugs). Docker's profile refuses it too. The
 *   domain is an int: compare the low 32 bits only.
 * - ioctl TIOCSTI (push characters into a terminal's input) and TIOCLINUX: EPERM.
 *   The command argument is an unsigned int; compare only its low 32 bits or
 *   setting the upper ones would slip past.
 * - personality: only the values Docker allows (0, PER_LINUX32 = 8, UNAME26 =
 *   0x20000, both, and 0xffffffff = query). libseccomp cannot say "none of
 *   these values" (one comparison per argument per rule, and ALLOW rules in a
 *   default-ALLOW filter are refused), so this one is a small hand-written BPF
 *   program stacked as a second filter.
 * Other architectures (i386 and x32 calls from a 64-bit process) kill the
 * process: the rules are written for the native numbers only.
 *
 * Compiled once per worker process, in the parent (libseccomp allocates; the
 * child may not), and kept until exit; the child only hands the programs to
 * seccomp(2). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_int.h"

static const char *const deny_eperm[] = {
    /* file systems and the mount table */
    "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "swapon", "swapoff", "quotactl", "quotactl_fd",
    /* namespaces */
    "unshare", "setns",
    /* kernel code, modules, reboot */
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "reboot", "bpf", "perf_event_open", "lookup_dcookie", "uselib", "_sysctl",
    "nfsservctl", "syslog", "acct",
    /* kernel keyrings, userfaultfd, io_uring */
    "keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register",
    /* file-system-wide event watching: since 5.13 an unprivileged process may
     * call fanotify_init (with FAN_REPORT_FID), a large kernel surface no
     * sandboxed program needs (Docker's profile leaves it to CAP_SYS_ADMIN) */
    "fanotify_init",
    /* other processes */
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    /* handles that bypass path permissions */
    "open_by_handle_at", "name_to_handle_at",
    /* clocks */
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    /* I/O ports and legacy modes */
    "iopl", "ioperm", "vm86", "vm86old",
    NULL};

static const unsigned long clone_ns_flags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,
                                               CLONE_NEWNET,  CLONE_NEWUTS, CLONE_NEWIPC,
                                               CLONE_NEWCGROUP};

#if defined(__x86_64__)
#define SQ_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SQ_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "sandq: add this architecture's AUDIT_ARCH"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SQ_ARG0_LO offsetof(struct seccomp_data, args[0])
#else
#define SQ_ARG0_LO (offsetof(struct seccomp_data, args[0]) + 4)
#endif

static struct sock_filter personality_insns[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SQ_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), /* the main filter handles other arches */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    /* personality(unsigned int): the kernel reads the low 32 bits only. */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SQ_ARG0_LO),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0, 5, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8, 4, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x20000, 3, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x20008, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static const struct sock_fprog personality_prog = {
    .len = sizeof personality_insns / sizeof personality_insns[0],
    .filter = personality_insns,
};

static struct sock_fprog main_prog;
static int compile_errno;
static const char *compile_step = "";
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static int add_rules(scmp_filter_ctx ctx)
{
    int rc;
    for (const char *const *name = deny_eperm; *name; name++) {
        int nr = seccomp_syscall_resolve_name(*name);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a system call on this architecture */
        compile_step = *name;
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0)
            return rc;
    }
    compile_step = "clone3";
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
        return rc;
    compile_step = "clone";
    for (size_t i = 0; i < sizeof clone_ns_flags / sizeof clone_ns_flags[0]; i++) {
        unsigned long f = clone_ns_flags[i];
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, f, f))) < 0)
            return rc;
    }
    compile_step = "socket";
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, AF_VSOCK))) < 0)
        return rc;
    compile_step = "ioctl";
    static const unsigned long bad_ioctls[] = {TIOCSTI, TIOCLINUX};
    for (size_t i = 0; i < 2; i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, bad_ioctls[i]))) < 0)
            return rc;
    return 0;
}

/* libseccomp 2.5 exports BPF to an fd only: go through a memfd. */
static int export_bpf(scmp_filter_ctx ctx)
{
    int fd = memfd_create("sandq-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = seccomp_export_bpf(ctx, fd);
    struct stat st;
    if (rc == 0 && fstat(fd, &st) < 0)
        rc = -errno;
    if (rc == 0 && (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
                    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS))
        rc = -EPROTO;
    struct sock_filter *insns = NULL;
    if (rc == 0 && !(insns = malloc((size_t)st.st_size)))
        rc = -ENOMEM;
    if (rc == 0 && pread(fd, insns, (size_t)st.st_size, 0) != st.st_size)
        rc = -EIO;
    close(fd);
    if (rc < 0) {
        free(insns);
        return rc;
    }
    main_prog.len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
    main_prog.filter = insns; /* kept for the life of the process */
    return 0;
}

static void compile(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        compile_errno = ENOMEM;
        compile_step = "seccomp_init";
        return;
    }
    /* Killing the whole process needs libseccomp to see kernel support for it
     * (valgrind, for one, hides it); killing the thread is the fallback. */
    compile_step = "bad-arch action";
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_THREAD);
    if (rc == 0)
        rc = add_rules(ctx);
    if (rc == 0) {
        compile_step = "export";
        rc = export_bpf(ctx);
    }
    seccomp_release(ctx);
    if (rc < 0)
        compile_errno = -rc;
}

int sq_plan_seccomp(struct sq_setup *s, sq_err *err)
{
    pthread_once(&compile_once, compile);
    if (compile_errno) {
        errno = compile_errno;
        return sq_err_errno(err, "seccomp filter (%s)", compile_step);
    }
    s->seccomp = &main_prog;
    s->personality = &personality_prog;
    return 0;
}

int sq_child_seccomp(struct sq_child *c)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->setup->personality) < 0)
        return sq_child_fail(c, "seccomp personality filter", NULL);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->setup->seccomp) < 0)
        return sq_child_fail(c, "seccomp", NULL);
    return 0;
}
