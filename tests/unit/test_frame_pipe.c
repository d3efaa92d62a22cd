/* test_frame_pipe.c — the browser recording's frame pipe
 * (worker/src/caps/browser/frame_pipe.c): frames reach ffmpeg whole or not at
 * all, a full pipe drops frames instead of waiting, and every frame is
 * counted as written or dropped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caps/browser/frame_pipe.h"

/* A pipe of `room` bytes that a reader empties only when the test says. */
typedef struct fake {
    unsigned char got[4096];
    size_t len;
    size_t room;      /* bytes it takes before it is full */
    int fail_errno;   /* != 0: every write fails with it */
} fake;

static ssize_t fake_write(void *user, const void *buf, size_t len)
{
    fake *f = user;
    if (f->fail_errno) {
        errno = f->fail_errno;
        return -1;
    }
    if (f->room == 0) {
        errno = EAGAIN;
        return -1;
    }
    size_t n = len < f->room ? len : f->room;
    memcpy(f->got + f->len, buf, n);
    f->len += n;
    f->room -= n;
    return (ssize_t)n;
}

static void whole_frames_pass(void **state)
{
    (void)state;
    fake f = {.room = 100};
    sq_frame_pipe fp;
    sq_fp_init(&fp, fake_write, &f, 1000);
    assert_true(sq_fp_push(&fp, "AAAA", 4));
    assert_true(sq_fp_push(&fp, "BBBB", 4));
    assert_int_equal(f.len, 8);
    assert_memory_equal(f.got, "AAAABBBB", 8);
    assert_int_equal(fp.written, 2);
    assert_int_equal(fp.dropped, 0);
    sq_fp_free(&fp);
}

static void full_pipe_drops_instead_of_waiting(void **state)
{
    (void)state;
    fake f = {.room = 0};
    sq_frame_pipe fp;
    sq_fp_init(&fp, fake_write, &f, 1000);
    assert_false(sq_fp_push(&fp, "AAAA", 4));
    assert_false(sq_fp_push(&fp, "BBBB", 4));
    assert_int_equal(fp.frames, 2);
    assert_int_equal(fp.dropped, 2);
    assert_int_equal(fp.written, 0);
    assert_int_equal(f.len, 0);
    f.room = 100; /* ffmpeg caught up: the next frame goes */
    assert_true(sq_fp_push(&fp, "CCCC", 4));
    assert_memory_equal(f.got, "CCCC", 4);
    sq_fp_free(&fp);
}

static void a_cut_frame_is_finished_before_any_other(void **state)
{
    (void)state;
    fake f = {.room = 3};
    sq_frame_pipe fp;
    sq_fp_init(&fp, fake_write, &f, 1000);
    assert_true(sq_fp_push(&fp, "AAAAAA", 6)); /* 3 bytes went, 3 are pending */
    assert_true(sq_fp_pending(&fp));
    assert_false(sq_fp_push(&fp, "BBBB", 4));  /* dropped: the pipe is still full */
    f.room = 5;
    assert_true(sq_fp_push(&fp, "CCCC", 4));  /* the rest of A went, then C's first 2 bytes: its rest is pending */
    assert_int_equal(f.len, 8);
    assert_memory_equal(f.got, "AAAAAACC", 8);
    assert_int_equal(fp.written, 1);
    assert_int_equal(fp.dropped, 1);
    f.room = 100;
    assert_true(sq_fp_flush(&fp));
    assert_int_equal(f.len, 10);
    assert_memory_equal(f.got, "AAAAAACCCC", 10); /* B never appears in the stream, not even in part */
    assert_int_equal(fp.written, 2);
    sq_fp_free(&fp);
}

static void counts_add_up(void **state)
{
    (void)state;
    fake f = {.room = 5};
    sq_frame_pipe fp;
    sq_fp_init(&fp, fake_write, &f, 1000);
    for (int i = 0; i < 10; i++)
        (void)sq_fp_push(&fp, "XXXX", 4);
    f.room = 1000;
    assert_true(sq_fp_flush(&fp));
    assert_int_equal(fp.frames, 10);
    assert_int_equal(fp.written + fp.dropped, 10);
    assert_int_equal(f.len, fp.written * 4); /* only whole frames reached the pipe */
    sq_fp_free(&fp);
}

static void oversized_and_broken(void **state)
{
    (void)state;
    fake f = {.room = 100};
    sq_frame_pipe fp;
    sq_fp_init(&fp, fake_write, &f, 4);
    assert_false(sq_fp_push(&fp, "TOOLONG", 7));
    assert_int_equal(f.len, 0);
    f.fail_errno = EPIPE; /* ffmpeg exited */
    assert_false(sq_fp_push(&fp, "AAAA", 4));
    assert_true(fp.broken);
    assert_int_equal(fp.broken_errno, EPIPE);
    f.fail_errno = 0;
    assert_false(sq_fp_push(&fp, "BBBB", 4)); /* nothing more after a hard error */
    assert_int_equal(f.len, 0);
    assert_int_equal(fp.dropped, 3);
    sq_fp_free(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_frames_pass),
        cmocka_unit_test(full_pipe_drops_instead_of_waiting),
        cmocka_unit_test(a_cut_frame_is_finished_before_any_other),
        cmocka_unit_test(counts_add_up),
        cmocka_unit_test(oversized_and_broken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
