/* recording.c — see recording.h: ffmpeg's start in the sandbox (prepare the
 * FIFO, open our end, launch), the frames, and the bounded finish.
 *
 * Opening order is the browser's (browser.c): the worker opens the FIFO
 * read-write first, which never blocks, so ffmpeg's shell opening it for
 * reading finds a writer and cannot block either; and ffmpeg sees end-of-file
 * exactly when the worker closes it, since no one else holds a write end. */
#include "caps/browser/recording.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers/ws_fs.h"
#include "caps/host_binary.h"
#include "caps/sandbox_step.h"
#include "sq/clock.h"

#define STEP_TIMEOUT_MS 15000   /* each short command we run in the sandbox */
#define FINISH_TIMEOUT_MS 10000 /* ffmpeg's end: the last frames encoded, the index written */
#define DRAIN_TIMEOUT_MS 1000   /* the rest of a frame cut by a full pipe, at the end */
#define MAX_FRAME (8u << 20)    /* a screencast JPEG is ~50-200 KiB */
#define PIPE_BYTES (1 << 20)    /* the FIFO's buffer: a second or so of frames (the unprivileged maximum) */

static char found_bin[512];

const char *sq_brec_detect(char *why, size_t why_size)
{
    return sq_host_binary_find("SANDQ_FFMPEG_BIN", "/usr/bin/ffmpeg", "ffmpeg", found_bin, sizeof found_bin, why,
                               why_size);
}

const char *sq_brec_binary(void)
{
    return found_bin[0] ? found_bin : NULL;
}

static ssize_t fd_write(void *user, const void *buf, size_t len)
{
    return write(*(int *)user, buf, len);
}

static void kill_ffmpeg(sq_sandbox *rt)
{
    static const char script[] = "p=$(cat " SQ_BREC_DIR "/pid 2>/dev/null) && [ -n \"$p\" ] && "
                                 "kill -KILL \"$p\" 2>/dev/null; exit 0\n";
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    sq_err ignore;
    (void)sq_sandbox_step(rt, "killing ffmpeg", argv, NULL, STEP_TIMEOUT_MS, NULL, &ignore);
}

int sq_brec_start(sq_brec *r, sq_sandbox *rt, int workspace_fd, int width, int height, sq_err *err)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (!sq_brec_binary())
        return sq_err_set(err, SQ_CAPABILITY_UNAVAILABLE, "this worker has no ffmpeg installed");
    r->width = width & ~1;
    r->height = height & ~1;
    if (r->width < 2 || r->height < 2)
        return sq_err_set(err, SQ_INTERNAL, "viewport %dx%d is too small to record", width, height);
    static const char prepare[] = "set -e\n"
                                  "mkdir -p " SQ_BREC_DIR "\n"
                                  "cd " SQ_BREC_DIR "\n"
                                  "rm -f in done pid out.mp4 ffmpeg.log\n"
                                  "mkfifo -m 600 in\n";
    const char *pargv[] = {"/bin/sh", "-c", prepare, NULL};
    if (sq_sandbox_step(rt, "preparing " SQ_BREC_DIR, pargv, NULL, STEP_TIMEOUT_MS, NULL, err) < 0)
        return -1;
    int fd = sq_ws_open(workspace_fd, SQ_BREC_DIR_REL "/in", O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0, err);
    if (fd < 0)
        return sq_err_wrap(err, "opening ffmpeg's pipe");
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        close(fd);
        return sq_err_set(err, SQ_INTERNAL, SQ_BREC_DIR "/in is not a FIFO");
    }
    (void)fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES); /* more slack before frames drop; the default 64 KiB also works */
    /* -use_wallclock_as_timestamps with -fps_mode passthrough: each frame
     * keeps the time ffmpeg read it (the screencast sends frames only when
     * the page changes; -fps_mode vfr dropped a quarter of them). -framerate
     * 1000 only sets the input's time base to 1 ms: with image2pipe's
     * default 1/25 every time was rounded to a 40 ms grid, and frames closer
     * than that were pushed apart. The size is
     * fixed at the start, so a setViewport mid-task scales instead of
     * changing the stream's size (which the encoder cannot follow). The
     * outer shell records ffmpeg's pid (for a kill) and, when it exits, its
     * status in `done` (what the worker polls for). */
    static const char launch[] =
        "cd " SQ_BREC_DIR " || exit 1\n"
        "( \"$1\" -hide_banner -nostats -loglevel warning -y -use_wallclock_as_timestamps 1 -framerate 1000 "
        "-f image2pipe "
        "-c:v mjpeg -i - -fps_mode passthrough -vf \"scale=$2:$3,format=yuv420p\" -c:v libx264 -preset ultrafast "
        "-threads 1 -pix_fmt yuv420p -f mp4 out.mp4 <in >ffmpeg.log 2>&1 &\n"
        "  echo $! >pid\n"
        "  wait $!\n"
        "  echo $? >done.tmp && mv done.tmp done ) </dev/null >/dev/null 2>&1 &\n";
    char w[16], h[16];
    snprintf(w, sizeof w, "%d", r->width);
    snprintf(h, sizeof h, "%d", r->height);
    const char *largv[] = {"/bin/sh", "-c", launch, "sh", sq_brec_binary(), w, h, NULL};
    if (sq_sandbox_step(rt, "launching ffmpeg", largv, NULL, STEP_TIMEOUT_MS, NULL, err) < 0) {
        close(fd);
        return -1;
    }
    r->fd = fd;
    sq_fp_init(&r->fp, fd_write, &r->fd, MAX_FRAME);
    r->started_mono = sq_mono_ms();
    r->on = true;
    return 0;
}

void sq_brec_frame(sq_brec *r, const void *jpeg, size_t len)
{
    if (!r->on || len == 0 || len > MAX_FRAME)
        return;
    (void)sq_fp_push(&r->fp, jpeg, len);
    if (r->last_cap < len) {
        unsigned char *p = realloc(r->last, len);
        if (!p)
            return;
        r->last = p;
        r->last_cap = len;
    }
    memcpy(r->last, jpeg, len);
    r->last_len = len;
}

bool sq_brec_wait_started(sq_brec *r, int timeout_ms)
{
    if (!r->on)
        return false;
    int64_t until = sq_mono_ms() + timeout_ms;
    for (;;) {
        int queued = 0;
        (void)sq_fp_flush(&r->fp);
        /* FIONREAD on a pipe: the bytes written and not yet read */
        if (!sq_fp_pending(&r->fp) && ioctl(r->fd, FIONREAD, &queued) == 0 && queued == 0)
            return r->fp.written > 0;
        if (r->fp.broken || sq_mono_ms() >= until)
            return false;
        usleep(10 * 1000);
    }
}

/* ffmpeg's exit status from `done`, or -1 while it is not there. */
static int read_done(int workspace_fd)
{
    sq_err ignore;
    struct stat st;
    int fd = sq_ws_open_regular(workspace_fd, SQ_BREC_DIR_REL "/done", O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0, &st,
                                &ignore);
    if (fd < 0)
        return -1;
    char buf[16] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atoi(buf) : 255;
}

bool sq_brec_alive(const sq_brec *r, int workspace_fd)
{
    return r->on && !r->fp.broken && read_done(workspace_fd) < 0;
}

void sq_brec_restart_clock(sq_brec *r)
{
    r->started_mono = sq_mono_ms();
}

static void close_pipe(sq_brec *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    sq_fp_free(&r->fp);
    free(r->last);
    r->last = NULL;
    r->last_len = r->last_cap = 0;
    r->on = false;
}

int sq_brec_finish(sq_brec *r, sq_sandbox *rt, int workspace_fd, sq_err *err)
{
    if (!r->on)
        return sq_err_set(err, SQ_INTERNAL, "not recording");
    /* The screencast sends nothing while the page is still, so the video's
     * last frame is the page as it is now, at the time the task ends. */
    if (r->last_len > 0 && !sq_fp_pending(&r->fp)) {
        (void)sq_fp_push(&r->fp, r->last, r->last_len); /* counted like any frame */
    }
    /* A frame cut by a full pipe is finished (bounded), so ffmpeg does not
     * end on half a JPEG. */
    int64_t until = sq_mono_ms() + DRAIN_TIMEOUT_MS;
    while (!sq_fp_flush(&r->fp) && sq_mono_ms() < until) {
        struct pollfd p = {.fd = r->fd, .events = POLLOUT};
        (void)poll(&p, 1, 50);
    }
    uint64_t written = r->fp.written;
    close_pipe(r); /* end-of-file: ffmpeg finishes the MP4 */
    int status = -1;
    until = sq_mono_ms() + FINISH_TIMEOUT_MS;
    while ((status = read_done(workspace_fd)) < 0 && sq_mono_ms() < until)
        usleep(50 * 1000);
    if (status < 0) {
        kill_ffmpeg(rt);
        return sq_err_set(err, SQ_TIMED_OUT, "ffmpeg did not finish the MP4 within %d ms (killed)",
                          FINISH_TIMEOUT_MS);
    }
    if (written == 0)
        return sq_err_set(err, SQ_INTERNAL, "no frame reached ffmpeg");
    if (status != 0)
        return sq_err_set(err, SQ_INTERNAL, "ffmpeg exited %d (see " SQ_BREC_DIR "/ffmpeg.log)", status);
    struct stat st;
    int fd = sq_ws_open_regular(workspace_fd, SQ_BREC_DIR_REL "/out.mp4", O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0, &st,
                                err);
    if (fd < 0)
        return sq_err_wrap(err, "opening the MP4");
    /* The fd keeps the content; the workspace does not keep one MP4 per task. */
    sq_err ignore;
    (void)sq_ws_remove(workspace_fd, SQ_BREC_DIR_REL "/out.mp4", 0, NULL, &ignore);
    return fd;
}

void sq_brec_abort(sq_brec *r, sq_sandbox *rt)
{
    if (!r->on)
        return;
    close_pipe(r);
    if (rt)
        kill_ffmpeg(rt);
}
