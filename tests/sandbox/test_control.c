/* test_control.c — the worker ↔ init wire format (control.h): SPAWN payload
 * encoding, and frames over a real SOCK_SEQPACKET socketpair, including the
 * malformed and oversized ones a broken peer could send. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"

static void test_spawn_roundtrip(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "echo $X", NULL};
    const char *envp[] = {"X=1", "PATH=/usr/bin", NULL};
    void *buf;
    size_t len;
    uint32_t argc, envc;
    assert_int_equal(sq_ctl_pack_spawn("/workspace", argv, envp, &buf, &len, &argc, &envc), 0);
    assert_int_equal(argc, 3);
    assert_int_equal(envc, 2);

    const char *cwd;
    char **vec, **av, **ev;
    assert_int_equal(sq_ctl_unpack_spawn(buf, len, argc, envc, &cwd, &vec, &av, &ev), 0);
    assert_string_equal(cwd, "/workspace");
    assert_string_equal(av[0], "sh");
    assert_string_equal(av[2], "echo $X");
    assert_null(av[3]);
    assert_string_equal(ev[0], "X=1");
    assert_string_equal(ev[1], "PATH=/usr/bin");
    assert_null(ev[2]);
    free(vec);
    free(buf);
}

static void test_spawn_no_env_and_empty_strings(void **state)
{
    (void)state;
    const char *argv[] = {"printf", "", NULL};
    void *buf;
    size_t len;
    uint32_t argc, envc;
    assert_int_equal(sq_ctl_pack_spawn("/", argv, NULL, &buf, &len, &argc, &envc), 0);
    assert_int_equal(envc, 0);
    const char *cwd;
    char **vec, **av, **ev;
    assert_int_equal(sq_ctl_unpack_spawn(buf, len, argc, envc, &cwd, &vec, &av, &ev), 0);
    assert_string_equal(av[1], "");
    assert_null(ev[0]);
    free(vec);
    free(buf);
}

static void test_spawn_rejects_bad_payloads(void **state)
{
    (void)state;
    const char *cwd;
    char **vec, **av, **ev;
    char ok[] = "/\0sh\0"; /* cwd + 1 arg */
    /* counts that do not match the strings */
    assert_int_equal(sq_ctl_unpack_spawn(ok, sizeof ok - 1, 2, 0, &cwd, &vec, &av, &ev), -EPROTO);
    assert_int_equal(sq_ctl_unpack_spawn(ok, sizeof ok - 1, 1, 1, &cwd, &vec, &av, &ev), -EPROTO);
    /* no argv[0] */
    assert_int_equal(sq_ctl_unpack_spawn(ok, sizeof ok - 1, 0, 1, &cwd, &vec, &av, &ev), -EPROTO);
    /* not NUL-terminated at the end */
    char open_end[] = {'/', 0, 's', 'h'};
    assert_int_equal(sq_ctl_unpack_spawn(open_end, sizeof open_end, 1, 0, &cwd, &vec, &av, &ev),
                     -EPROTO);
    /* huge counts are refused before any allocation */
    assert_int_equal(sq_ctl_unpack_spawn(ok, sizeof ok - 1, UINT32_MAX, UINT32_MAX, &cwd, &vec, &av,
                                         &ev),
                     -EPROTO);
    assert_int_equal(sq_ctl_unpack_spawn(ok, 0, 1, 0, &cwd, &vec, &av, &ev), -EPROTO);
    assert_null(vec);
}

static void test_pack_limits(void **state)
{
    (void)state;
    void *buf;
    size_t len;
    uint32_t argc, envc;
    const char *empty[] = {NULL};
    assert_int_equal(sq_ctl_pack_spawn("/", empty, NULL, &buf, &len, &argc, &envc), -EINVAL);

    size_t big = SQ_CTL_MAX_PAYLOAD;
    char *s = malloc(big + 1);
    memset(s, 'x', big);
    s[big] = '\0';
    const char *argv[] = {s, NULL};
    assert_int_equal(sq_ctl_pack_spawn("/", argv, NULL, &buf, &len, &argc, &envc), -E2BIG);
    free(s);

    const char **many = calloc(SQ_CTL_MAX_STRINGS + 2, sizeof *many);
    for (size_t i = 0; i < SQ_CTL_MAX_STRINGS + 1; i++)
        many[i] = "a";
    assert_int_equal(sq_ctl_pack_spawn("/", many, NULL, &buf, &len, &argc, &envc), -E2BIG);
    free(many);
}

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_frames_with_fds(void **state)
{
    (void)state;
    int sv[2], p[2];
    pair(sv);
    assert_int_equal(pipe(p), 0);
    int fds[3] = {p[0], p[1], p[1]};
    assert_int_equal(sq_ctl_send(sv[0], SQ_CTL_SPAWN, 7, 1, 2, "abc", 3, fds, 3), 0);

    sq_ctl_hdr h;
    void *payload;
    int got[3];
    size_t n;
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 16, got, 3, &n), 1);
    assert_int_equal(h.type, SQ_CTL_SPAWN);
    assert_int_equal(h.id, 7);
    assert_int_equal(h.a, 1);
    assert_int_equal(h.b, 2);
    assert_int_equal(h.len, 3);
    assert_memory_equal(payload, "abc", 3);
    assert_int_equal(n, 3);
    /* the fds arrive close-on-exec and work */
    assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(got[1], "z", 1), 1);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'z');
    for (int i = 0; i < 3; i++)
        close(got[i]);
    free(payload);

    /* EOF */
    close(sv[0]);
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 16, got, 3, &n), 0);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

static void test_oversized_and_malformed_frames(void **state)
{
    (void)state;
    int sv[2];
    pair(sv);
    sq_ctl_hdr h;
    void *payload;
    int got[3];
    size_t n;

    /* payload above the receiver's bound: consumed and refused, header kept */
    assert_int_equal(sq_ctl_send(sv[0], SQ_CTL_SPAWN, 9, 1, 0, "0123456789", 10, NULL, 0), 0);
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 4, got, 3, &n), -EMSGSIZE);
    assert_int_equal(h.id, 9);
    assert_null(payload);

    /* more fds than the receiver accepts: refused, and ours are closed */
    int p[2];
    assert_int_equal(pipe(p), 0);
    int fds[2] = {p[1], p[1]};
    assert_int_equal(sq_ctl_send(sv[0], SQ_CTL_KILL, 1, 9, 0, NULL, 0, fds, 2), 0);
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 4, got, 1, &n), -EMSGSIZE);
    close(p[1]);
    /* every copy of the write end is gone, so the read end sees EOF */
    char c;
    assert_int_equal(read(p[0], &c, 1), 0);
    close(p[0]);

    /* shorter than a header */
    assert_int_equal(send(sv[0], "xy", 2, 0), 2);
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 4, got, 3, &n), -EPROTO);

    /* a header whose len lies about the payload */
    sq_ctl_hdr lie = {.type = SQ_CTL_SPAWN, .id = 3, .len = 2};
    assert_int_equal(send(sv[0], &lie, sizeof lie, 0), (ssize_t)sizeof lie);
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 4, got, 3, &n), -EPROTO);

    /* the stream is still in step afterwards */
    assert_int_equal(sq_ctl_send(sv[0], SQ_CTL_READY, 0, SQ_CTL_VERSION, 0, NULL, 0, NULL, 0), 0);
    assert_int_equal(sq_ctl_recv(sv[1], &h, &payload, 4, got, 3, &n), 1);
    assert_int_equal(h.type, SQ_CTL_READY);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_roundtrip),
        cmocka_unit_test(test_spawn_no_env_and_empty_strings),
        cmocka_unit_test(test_spawn_rejects_bad_payloads),
        cmocka_unit_test(test_pack_limits),
        cmocka_unit_test(test_frames_with_fds),
        cmocka_unit_test(test_oversized_and_malformed_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
