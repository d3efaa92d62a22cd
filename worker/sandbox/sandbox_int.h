/* sandbox_int.h — what the steps of the sandbox runtime share.
 *
 * The set-up is split in two halves, as in nsjail: a parent side that runs in
 * the (multi-threaded) worker and may allocate, read files and format strings,
 * and a child side that runs between clone and exec. The child is a raw clone
 * of one worker thread: other threads' locks (malloc, stdio, glibc's setxid
 * machinery) may be held forever in its copy of memory, so it only makes system
 * calls and reads memory the parent prepared. Everything the child needs —
 * paths, mount options, the compiled seccomp program — is therefore built by the
 * parent into a struct sq_setup before clone, and the child's steps take it
 * read-only.
 *
 * Each step lives in its own file and comes in a parent half (sq_plan_*,
 * sq_parent_*, may fill an sq_err) and/or a child half (sq_child_*, returns -1
 * with errno set after naming itself with sq_child_fail). */
#ifndef SQ_SANDBOX_INT_H
#define SQ_SANDBOX_INT_H

#include <limits.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control.h"
#include "helper.h"
#include "sandbox.h"

/* Where the child builds the new root before pivot_root. This is a tmpfs
 * mounted over the host's /tmp inside the child's private mount namespace (as
 * bubblewrap does), so nothing on the host changes. Consequence: bind sources
 * must not live under /tmp — the workspace is opened before /tmp is covered. */
#define SQ_NEWROOT "/tmp"

/* Where sq_child_close_fds leaves the init's executable for execveat; the
 * control socket goes to SQ_CTL_INIT_FD (3). */
#define SQ_INIT_EXE_FD 4

/* The handle behind sq_sandbox (sandbox.c, exec.c). */
struct sq_sandbox {
    pid_t pid;         /* host pid of the init */
    int pidfd;         /* pidfd of the init: signals and waits cannot hit a reused pid */
    int ctl;           /* our end of the control socket */
    uint32_t next_id;  /* spawn ids */
    bool dead;         /* the init is gone: exec refuses, destroy only reaps */
    struct sq_cgroup *cg; /* NULL when started without limits */
    sq_helper net;     /* slirp4netns in internet mode (pidfd -1 otherwise) */
    int net_exit_fd;   /* closing it tells slirp4netns to exit */
};

/* Mount plan entries, computed by the parent from the host layout. */
enum sq_mnt_kind {
    SQ_MNT_BIND_RO, /* bind src at dst (file or directory), then remount read-only */
    SQ_MNT_SYMLINK, /* symlink dst -> src */
    SQ_MNT_FILE,    /* a new file dst holding the text src (read-only with the root) */
};

struct sq_mnt {
    enum sq_mnt_kind kind;
    bool is_dir;
    char *src; /* host path, or the link target */
    char *dst; /* absolute path under SQ_NEWROOT */
};

struct sq_setup {
    const sq_sandbox_opts *opts;
    char hostname[65];
    int init_fd;      /* O_PATH of sandq-init (rootfs is gone when we exec it) */
    int worker_pidfd; /* pidfd of the worker process: the child checks it is alive */
    int workspace_fd; /* O_PATH of opts->workspace_dir, in the worker's mount ns */
    char *workspace_path;   /* its canonical path, for the child to reopen */
    dev_t workspace_dev;    /* … and its identity, to check it is the same */
    ino_t workspace_ino;
    char workspace_src[64]; /* "/proc/self/fd/N" for workspace_fd */
    char tmp_opts[64];      /* tmpfs options for /tmp and /dev/shm */
    struct sq_mnt *mnts;
    size_t nmnts, cap_mnts;
    const struct sock_fprog *seccomp;     /* main filter (libseccomp) */
    const struct sock_fprog *personality; /* small hand-written filter */
    char slirp_path[PATH_MAX]; /* internet mode (netstack.c) */
    char nft_path[PATH_MAX];
    char *nft_rules;
};

/* Child-side state: the control socket and the first failure. */
struct sq_child {
    const struct sq_setup *setup;
    int ctl;
    int err;                     /* errno of the failing call */
    char step[SQ_CTL_MAX_STEP];    /* "mount /usr" */
};

/* ---- parent halves -------------------------------------------------- */

/* initbin.c: find sandq-init (SANDQ_INIT_BIN, else beside /proc/self/exe) and
 * open it O_PATH|O_CLOEXEC. */
int sq_plan_init_binary(struct sq_setup *s, sq_err *err);
/* rootfs.c: open the workspace and list the host paths to expose. */
int sq_plan_rootfs(struct sq_setup *s, sq_err *err);
void sq_plan_rootfs_free(struct sq_setup *s);
/* uts.c */
int sq_plan_hostname(struct sq_setup *s, sq_err *err);
/* seccomp.c: compile once per process; the programs live until exit. */
int sq_plan_seccomp(struct sq_setup *s, sq_err *err);
/* netstack.c: internet mode — find slirp4netns and nft, render the rules;
 * then, while the child waits for RELEASE, attach the stack and load them. */
int sq_plan_network(struct sq_setup *s, sq_err *err);
void sq_plan_network_free(struct sq_setup *s);
int sq_parent_network(const struct sq_setup *s, sq_sandbox *sb, sq_err *err);
void sq_network_stop(sq_sandbox *sb);
/* userns.c: write uid_map, gid_map of the child. */
int sq_parent_userns(pid_t child, const sq_sandbox_opts *opts, sq_err *err);

/* ---- child halves (child.c runs them in order) ----------------------- */

_Noreturn void sq_child_main(const struct sq_setup *s, int ctl);
/* Record the failing step (what + optional path) and errno; returns -1. */
int sq_child_fail(struct sq_child *c, const char *what, const char *path);
/* Same, for a path under SQ_NEWROOT: reported as the sandbox will see it. */
int sq_child_fail_in_root(struct sq_child *c, const char *what, const char *staged);

int sq_child_open_workspace(struct sq_child *c); /* rootfs.c */
int sq_child_become_root(struct sq_child *c);   /* userns.c */
int sq_child_cgroupns(struct sq_child *c);      /* cgroup_ns.c */
int sq_child_hostname(struct sq_child *c);      /* uts.c */
int sq_child_loopback(struct sq_child *c);      /* net.c */
int sq_child_rootfs(struct sq_child *c);        /* rootfs.c: everything up to /proc */
int sq_child_dev(struct sq_child *c);           /* dev.c */
int sq_child_pivot(struct sq_child *c);         /* rootfs.c */
int sq_child_no_new_privs(struct sq_child *c);  /* privs.c */
int sq_child_drop_caps(struct sq_child *c);     /* privs.c */
int sq_child_rlimits(struct sq_child *c);       /* privs.c */
int sq_child_setsid(struct sq_child *c);        /* privs.c */
int sq_child_close_fds(struct sq_child *c);     /* privs.c */
int sq_child_seccomp(struct sq_child *c);       /* seccomp.c */

/* Remount a bind mount read-only, keeping the per-mount flags that the
 * kernel locks when a mount crosses into a less privileged user namespace. */
int sq_remount_bind(const char *path, unsigned long extra_flags);

/* Async-signal-safe string helpers for the child. */
size_t sq_strlcpy(char *dst, const char *src, size_t size);
size_t sq_strlcat(char *dst, const char *src, size_t size);

#endif
