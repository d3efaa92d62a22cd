/* control.h — the wire format between the worker and a sandbox's init.
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET socketpair per sandbox, created by the
 * worker before clone. The kernel keeps message boundaries, so one frame is one
 * sendmsg/recvmsg and there is no partial-read state to get wrong. The same
 * socket carries the set-up hand-shake (RELEASE, SETUP_ERROR, READY) and then
 * the init's requests. Both ends run on the same host, so integers are in host
 * byte order.
 *
 * Every frame is a fixed 20-byte header followed by `len` payload bytes:
 *
 *   u32 type   one of SQ_CTL_* below
 *   u32 id     the spawn id the frame is about (chosen by the worker), else 0
 *   i32 a      type-specific integer (see table)
 *   i32 b      type-specific integer
 *   u32 len    payload length, ≤ SQ_CTL_MAX_PAYLOAD
 *
 *   type          dir            a             b            payload             fds
 *   RELEASE       worker→child   0             0            —                   —
 *   SETUP_ERROR   child→worker   errno         0            step text (≤128 B)  —
 *   READY         init→worker    SQ_CTL_VERSION 0           —                   —
 *   SPAWN         worker→init    argc (≥1)     envc         cwd\0argv…\0envp…\0 stdin, stdout, stderr
 *   SPAWNED       init→worker    pid (in ns)   0            —                   —
 *   EXITED        init→worker    wait status   start errno  —                   —
 *   KILL          worker→init    signal        0            —                   —
 *   REJECTED      init→worker    errno         0            —                   —
 *
 * RELEASE tells the cloned child that its uid/gid maps are written. SETUP_ERROR
 * reports the first failing set-up step ("pivot_root") with its errno; the child
 * exits right after. READY is the init's first frame. A SPAWN is answered by
 * exactly one of REJECTED (nothing was started) or SPAWNED followed, when the
 * process has been reaped, by EXITED. EXITED.b is non-zero when chdir/exec
 * failed (the process then exits 127 for ENOENT, else 126, after writing a
 * shell-like message to its stderr). KILL signals the spawn's process group; it
 * is ignored for unknown or finished ids. Unknown frame types are ignored by
 * both sides, so either side can grow new frames first.
 *
 * This file is pure logic plus two thin send/recv calls, shared by the worker
 * (sq_sandbox) and sandq-init; it must not depend on anything but libc. */
#ifndef SQ_SANDBOX_CONTROL_H
#define SQ_SANDBOX_CONTROL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_CTL_VERSION 1
#define SQ_CTL_MAX_PAYLOAD (128u * 1024u) /* fits the default unix socket send buffer */
#define SQ_CTL_MAX_STRINGS 8192u          /* argc + envc */
#define SQ_CTL_MAX_STEP 128u              /* SETUP_ERROR text */
#define SQ_CTL_SPAWN_FDS 3
/* The init finds its end of the control socket on this fd. */
#define SQ_CTL_INIT_FD 3

enum sq_ctl_type {
    SQ_CTL_RELEASE = 1,
    SQ_CTL_SETUP_ERROR = 2,
    SQ_CTL_READY = 3,
    SQ_CTL_SPAWN = 4,
    SQ_CTL_SPAWNED = 5,
    SQ_CTL_EXITED = 6,
    SQ_CTL_KILL = 7,
    SQ_CTL_REJECTED = 8,
};

typedef struct sq_ctl_hdr {
    uint32_t type;
    uint32_t id;
    int32_t a;
    int32_t b;
    uint32_t len;
} sq_ctl_hdr;

/* Send one frame (header + payload + optional fds) with MSG_NOSIGNAL.
 * Returns 0 or -errno. Async-signal-safe: the set-up child uses it. */
int sq_ctl_send(int sock, uint32_t type, uint32_t id, int32_t a, int32_t b,
                const void *payload, size_t len, const int *fds, size_t nfds);

/* Receive one frame. *payload is malloc'd (NULL when len is 0) and owned by the
 * caller. Received fds are close-on-exec; at most max_fds are accepted, and a
 * frame carrying more, or a payload longer than max_len, is consumed, its fds
 * closed, and rejected with -EMSGSIZE. Returns 1 for a frame, 0 at EOF,
 * -errno on error (-EPROTO for a malformed frame). When a rejected frame had a
 * whole header, *hdr holds it (so the receiver can answer about its id);
 * otherwise *hdr is zeroed. */
int sq_ctl_recv(int sock, sq_ctl_hdr *hdr, void **payload, size_t max_len,
                int *fds, size_t max_fds, size_t *nfds);

/* Encode a SPAWN payload. cwd must be non-NULL, argv non-empty, envp may be
 * NULL (no environment). Returns 0, -EINVAL or -E2BIG (over the limits). */
int sq_ctl_pack_spawn(const char *cwd, const char *const *argv, const char *const *envp,
                      void **out, size_t *out_len, uint32_t *argc, uint32_t *envc);

/* Decode a SPAWN payload in place. On success *vec is one malloc'd array that
 * holds argv (argc entries + NULL) followed by envp (envc entries + NULL); argv
 * and envp point into it and into payload. Free *vec only. Returns 0, -EPROTO
 * when the payload does not hold exactly 1 + argc + envc strings, -ENOMEM. */
int sq_ctl_unpack_spawn(char *payload, size_t len, uint32_t argc, uint32_t envc,
                        const char **cwd, char ***vec, char ***argv, char ***envp);

/* Shell convention for a command that could not be started. */
static inline int sq_ctl_start_failure_code(int err) { return err == ENOENT ? 127 : 126; }

#endif
