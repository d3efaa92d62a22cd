/* control.c — framing of the worker ↔ init control socket (format: control.h).
 *
 * Used by three callers with different constraints: the worker (threads,
 * malloc fine), sandq-init (single-threaded, must stay tiny) and the set-up
 * child between clone and exec (may only make system calls: sq_ctl_send is
 * written for it and allocates nothing). */
#include "control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Upper bound on fds one frame may carry; SPAWN needs 3. */
#define CTL_MAX_FDS 4

int sq_ctl_send(int sock, uint32_t type, uint32_t id, int32_t a, int32_t b,
                const void *payload, size_t len, const int *fds, size_t nfds)
{
    if (len > SQ_CTL_MAX_PAYLOAD || nfds > CTL_MAX_FDS)
        return -EMSGSIZE;
    sq_ctl_hdr hdr = {.type = type, .id = id, .a = a, .b = b, .len = (uint32_t)len};
    struct iovec iov[2] = {
        {.iov_base = &hdr, .iov_len = sizeof hdr},
        {.iov_base = (void *)payload, .iov_len = len},
    };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    /* SOCK_SEQPACKET sends all or nothing; anything else is a kernel surprise. */
    return (size_t)n == sizeof hdr + len ? 0 : -EPROTO;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

int sq_ctl_recv(int sock, sq_ctl_hdr *hdr, void **payload, size_t max_len,
                int *fds, size_t max_fds, size_t *nfds)
{
    *payload = NULL;
    memset(hdr, 0, sizeof *hdr);
    if (nfds)
        *nfds = 0;

    /* Peek at the header to size the payload buffer. On a SEQPACKET socket a
     * short peek leaves the whole message queued. */
    sq_ctl_hdr peek;
    ssize_t n;
    do
        n = recv(sock, &peek, sizeof peek, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return 0; /* EOF (we never send empty messages) */

    int verdict = 0;
    if ((size_t)n < sizeof peek)
        verdict = -EPROTO;
    else if (peek.len > max_len)
        verdict = -EMSGSIZE;

    char *buf = NULL;
    if (verdict == 0 && peek.len > 0) {
        buf = malloc(peek.len);
        if (!buf)
            verdict = -ENOMEM; /* still consume the frame below */
    }

    /* Receive (and so consume) the message even when rejecting it, so the
     * stream stays in step and any fds it carried get closed. */
    sq_ctl_hdr h;
    struct iovec iov[2] = {
        {.iov_base = &h, .iov_len = sizeof h},
        {.iov_base = buf, .iov_len = buf ? peek.len : 0},
    };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
    } control;
    struct msghdr msg = {
        .msg_iov = iov,
        .msg_iovlen = buf ? 2 : 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        free(buf);
        return -e;
    }

    int got[CTL_MAX_FDS];
    size_t ngot = 0;
    bool too_many = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            if (ngot < CTL_MAX_FDS)
                got[ngot++] = fd;
            else {
                close(fd);
                too_many = true;
            }
        }
    }
    if (ngot > max_fds || too_many)
        verdict = verdict ? verdict : -EMSGSIZE;
    if (verdict == 0 && ((size_t)n != sizeof h + peek.len || (msg.msg_flags & MSG_TRUNC)))
        verdict = -EPROTO;
    if (verdict < 0) {
        if ((size_t)n >= sizeof h)
            *hdr = h;
        close_all(got, ngot);
        free(buf);
        return verdict;
    }

    *hdr = h;
    *payload = buf;
    if (ngot > 0)
        memcpy(fds, got, ngot * sizeof(int));
    if (nfds)
        *nfds = ngot;
    return 1;
}

int sq_ctl_pack_spawn(const char *cwd, const char *const *argv, const char *const *envp,
                      void **out, size_t *out_len, uint32_t *argc, uint32_t *envc)
{
    *out = NULL;
    *out_len = 0;
    if (!cwd || !argv || !argv[0])
        return -EINVAL;

    size_t total = strlen(cwd) + 1, na = 0, ne = 0;
    for (; argv[na]; na++) {
        if (na + 1 > SQ_CTL_MAX_STRINGS)
            return -E2BIG;
        total += strlen(argv[na]) + 1;
    }
    for (; envp && envp[ne]; ne++) {
        if (na + ne + 1 > SQ_CTL_MAX_STRINGS)
            return -E2BIG;
        total += strlen(envp[ne]) + 1;
    }
    if (total > SQ_CTL_MAX_PAYLOAD)
        return -E2BIG;

    char *buf = malloc(total), *p = buf;
    if (!buf)
        return -ENOMEM;
    size_t l = strlen(cwd) + 1;
    memcpy(p, cwd, l);
    p += l;
    for (size_t i = 0; i < na; i++) {
        l = strlen(argv[i]) + 1;
        memcpy(p, argv[i], l);
        p += l;
    }
    for (size_t i = 0; i < ne; i++) {
        l = strlen(envp[i]) + 1;
        memcpy(p, envp[i], l);
        p += l;
    }
    *out = buf;
    *out_len = total;
    *argc = (uint32_t)na;
    *envc = (uint32_t)ne;
    return 0;
}

int sq_ctl_unpack_spawn(char *payload, size_t len, uint32_t argc, uint32_t envc,
                        const char **cwd, char ***vec, char ***argv, char ***envp)
{
    *vec = NULL;
    if (!payload || len == 0 || argc < 1 || argc > SQ_CTL_MAX_STRINGS ||
        envc > SQ_CTL_MAX_STRINGS - argc)
        return -EPROTO;
    if (payload[len - 1] != '\0')
        return -EPROTO;

    /* Count strings first so a lying argc/envc cannot make us read past len. */
    size_t nstr = 0;
    for (size_t i = 0; i < len; i++)
        if (payload[i] == '\0')
            nstr++;
    if (nstr != 1 + (size_t)argc + envc)
        return -EPROTO;

    char **v = malloc(sizeof(char *) * ((size_t)argc + envc + 2));
    if (!v)
        return -ENOMEM;
    char *p = payload;
    *cwd = p;
    p += strlen(p) + 1;
    for (uint32_t i = 0; i < argc; i++) {
        v[i] = p;
        p += strlen(p) + 1;
    }
    v[argc] = NULL;
    for (uint32_t i = 0; i < envc; i++) {
        v[argc + 1 + i] = p;
        p += strlen(p) + 1;
    }
    v[argc + 1 + envc] = NULL;
    *vec = v;
    *argv = v;
    *envp = v + argc + 1;
    return 0;
}
