/* frame_pipe.c — see frame_pipe.h. */
#include "caps/browser/frame_pipe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sq_fp_init(sq_frame_pipe *fp, sq_fp_write_fn write, void *user, size_t max_frame)
{
    memset(fp, 0, sizeof *fp);
    fp->write = write;
    fp->user = user;
    fp->max_frame = max_frame;
}

void sq_fp_free(sq_frame_pipe *fp)
{
    free(fp->rest);
    fp->rest = NULL;
    fp->rest_len = fp->rest_off = fp->rest_cap = 0;
}

bool sq_fp_pending(const sq_frame_pipe *fp)
{
    return fp->rest_off < fp->rest_len;
}

/* One non-blocking write: bytes taken (0 when the pipe is full), or -1 after
 * a hard error (then the pipe is broken). */
static ssize_t try_write(sq_frame_pipe *fp, const unsigned char *buf, size_t len)
{
    for (;;) {
        ssize_t n = fp->write(fp->user, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        fp->broken = true;
        fp->broken_errno = errno;
        return -1;
    }
}

bool sq_fp_flush(sq_frame_pipe *fp)
{
    while (sq_fp_pending(fp)) {
        if (fp->broken) {
            /* the frame in flight is lost with the pipe */
            fp->rest_len = fp->rest_off = 0;
            fp->dropped++;
            return true;
        }
        ssize_t n = try_write(fp, fp->rest + fp->rest_off, fp->rest_len - fp->rest_off);
        if (n < 0)
            continue; /* broken: counted above */
        if (n == 0)
            return false;
        fp->rest_off += (size_t)n;
        if (!sq_fp_pending(fp)) {
            fp->rest_len = fp->rest_off = 0;
            fp->written++;
        }
    }
    return true;
}

bool sq_fp_push(sq_frame_pipe *fp, const void *frame, size_t len)
{
    fp->frames++;
    if (fp->broken || len == 0 || len > fp->max_frame || !sq_fp_flush(fp)) {
        fp->dropped++;
        return false;
    }
    ssize_t n = try_write(fp, frame, len);
    if (n <= 0) {
        fp->dropped++; /* nothing of it went: ffmpeg never sees it */
        return false;
    }
    if ((size_t)n == len) {
        fp->written++;
        return true;
    }
    /* Part of it went: the rest must follow before any other byte. */
    size_t left = len - (size_t)n;
    if (fp->rest_cap < left) {
        unsigned char *p = realloc(fp->rest, left);
        if (!p) {
            /* cannot keep the rest: the stream is cut mid-frame, so stop it */
            fp->broken = true;
            fp->broken_errno = ENOMEM;
            fp->dropped++;
            return false;
        }
        fp->rest = p;
        fp->rest_cap = left;
    }
    memcpy(fp->rest, (const unsigned char *)frame + n, left);
    fp->rest_len = left;
    fp->rest_off = 0;
    return true;
}
