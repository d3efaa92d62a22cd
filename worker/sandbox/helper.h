/* helper.h — running host programs for the sandbox runtime: mkfs.ext4 for a
 * workspace disk, slirp4netns and nft for the "internet" network mode.
 *
 * The worker is multi-threaded and must never reap children it does not own
 * (sandbox.h), so a helper is started with a raw clone that returns a pidfd,
 * and waited for through that pidfd only. Like the sandbox child, the helper
 * between clone and exec only makes system calls on memory prepared here.
 * Helpers die with the thread that started them (PR_SET_PDEATHSIG), as the
 * sandboxes do. Their stdout and stderr go to a memfd, so a failing helper's
 * message can be reported and a chatty one can never block on a full pipe. */
#ifndef SQ_HELPER_H
#define SQ_HELPER_H

#include <stdbool.h>
#include <sys/types.h>

#include "sq/err.h"

#define SQ_HELPER_MAX_FDS 2

typedef struct sq_helper {
    pid_t pid;
    int pidfd;   /* -1 once reaped */
    int out_fd;  /* memfd holding its stdout + stderr */
    char name[32];
} sq_helper;

typedef struct sq_helper_opts {
    const char *path;                 /* absolute path of the program */
    const char *const *argv;
    int netns_fd;                     /* ≥ 0: setns(CLONE_NEWNET) into it before exec */
    int stdin_fd;                     /* ≥ 0: becomes fd 0; otherwise /dev/null */
    int fds[SQ_HELPER_MAX_FDS];       /* ≥ 0: fds[i] becomes fd 3 + i */
} sq_helper_opts;

/* Find an executable: an absolute path from env_name if set, else the first of
 * the standard system directories that has `name`. */
int sq_helper_find(const char *env_name, const char *name, char *out, size_t size, sq_err *err);

int sq_helper_spawn(const sq_helper_opts *o, sq_helper *h, sq_err *err);
/* Wait up to timeout_ms for it to exit; on timeout kill it (SIGKILL) and reap.
 * Returns 0 when it exited with status 0; otherwise -1 with err naming the
 * helper, how it ended and the start of what it printed. */
int sq_helper_wait(sq_helper *h, int timeout_ms, sq_err *err);
/* Whether it is still running (does not reap). */
bool sq_helper_running(const sq_helper *h);
/* SIGKILL (if still running), reap, close. Safe on a reaped helper. */
void sq_helper_kill(sq_helper *h);

#endif
