/* frame_pipe.h — the browser recording's frames on their way to ffmpeg
 * (caps/browser/recording.h), as pure logic over a write function: a pipe
 * that never makes the worker wait.
 *
 * The writes are non-blocking. A frame goes whole or not at all as far as
 * ffmpeg can tell: when the pipe takes only part of a frame, the rest is
 * kept and sent before anything else (a JPEG cut in two would corrupt the
 * stream), and every frame that arrives while such a rest is still pending,
 * or that the pipe refuses outright (EAGAIN: ffmpeg has fallen behind, or
 * the sandbox is frozen), is dropped and counted. After a hard error (EPIPE:
 * ffmpeg is gone) everything is dropped. */
#ifndef SQ_FRAME_PIPE_H
#define SQ_FRAME_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Like write(2): bytes taken, or -1 with errno (EAGAIN: would block). */
typedef ssize_t (*sq_fp_write_fn)(void *user, const void *buf, size_t len);

typedef struct sq_frame_pipe {
    sq_fp_write_fn write;
    void *user;
    size_t max_frame;        /* larger frames are dropped (bounds what is held) */
    unsigned char *rest;     /* the unsent tail of a frame the pipe took part of */
    size_t rest_len, rest_off, rest_cap;
    uint64_t frames;         /* offered */
    uint64_t written;        /* sent whole */
    uint64_t dropped;        /* offered and not sent (written + dropped + pending = frames) */
    bool broken;             /* a hard write error: nothing more is sent */
    int broken_errno;
} sq_frame_pipe;

void sq_fp_init(sq_frame_pipe *fp, sq_fp_write_fn write, void *user, size_t max_frame);
void sq_fp_free(sq_frame_pipe *fp);
/* Offer one frame. Returns true when it was sent whole or its rest is now
 * pending, false when it was dropped. Never waits. */
bool sq_fp_push(sq_frame_pipe *fp, const void *frame, size_t len);
/* Send what is pending of the last frame. Returns true when nothing is
 * pending any more. Never waits. */
bool sq_fp_flush(sq_frame_pipe *fp);
/* Whether a frame's rest is waiting to be sent. */
bool sq_fp_pending(const sq_frame_pipe *fp);

#endif
