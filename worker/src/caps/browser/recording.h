/* recording.h — capabilities.recording.browser: one browser task as an MP4
 * (docs/recording.md), made by ffmpeg running INSIDE the sandbox — started
 * through the sandbox's init like the browser, so its CPU and memory count
 * against the sandbox's cgroup, it is frozen with it on pause and killed with
 * it — from the JPEG frames of the browser's screencast, which the worker
 * writes into a FIFO in /workspace/.browser/rec (ffmpeg's stdin).
 *
 * The worker never waits on ffmpeg while the task runs: its end of the FIFO
 * is non-blocking and frames that do not fit are dropped and counted
 * (frame_pipe.h). Finishing closes the FIFO (ffmpeg sees end-of-file and
 * writes the MP4's index), then waits a bounded time for ffmpeg's exit, then
 * kills it.
 *
 * Used by the sandbox's actor thread, with the browser's pipe held. */
#ifndef SQ_BROWSER_RECORDING_H
#define SQ_BROWSER_RECORDING_H

#include <stdbool.h>
#include <stdint.h>

#include "caps/browser/frame_pipe.h"
#include "sandbox/sandbox.h"

typedef struct sq_brec {
    bool on;
    int fd;                       /* our end of the FIFO, non-blocking */
    sq_frame_pipe fp;
    unsigned char *last;          /* the last frame offered, sent again at the end */
    size_t last_len, last_cap;
    int width, height;            /* the MP4's size: the viewport at the start, even-rounded */
    int64_t started_mono;
} sq_brec;

/* Where ffmpeg's files live inside the sandbox, and relative to the workspace. */
#define SQ_BREC_DIR "/workspace/.browser/rec"
#define SQ_BREC_DIR_REL ".browser/rec"

/* The ffmpeg binary, found once at worker start: SANDQ_FFMPEG_BIN, or
 * /usr/bin/ffmpeg. Under /usr (what a sandbox sees of the host). NULL (and
 * why) when there is none: recording.browser is then unavailable. */
const char *sq_brec_detect(char *why, size_t why_size);
const char *sq_brec_binary(void);

/* Start ffmpeg in rt for a video of width×height (rounded down to even). */
int sq_brec_start(sq_brec *r, sq_sandbox *rt, int workspace_fd, int width, int height, sq_err *err);
/* Whether ffmpeg (started a while ago, waiting) is still there to record. */
bool sq_brec_alive(const sq_brec *r, int workspace_fd);
/* The recording's clock starts now (a warm ffmpeg was started earlier). */
void sq_brec_restart_clock(sq_brec *r);
/* After the first frame: wait (at most timeout_ms) until ffmpeg has read
 * it. ffmpeg stamps each frame with the time it READS it
 * (-use_wallclock_as_timestamps), and a cold ffmpeg takes a second or more
 * to start on a busy machine: frames queued meanwhile would all get the
 * same time and the video would be too short. Returns whether it read it. */
bool sq_brec_wait_started(sq_brec *r, int timeout_ms);
/* One JPEG frame of the screencast (or a screenshot). Never waits. */
void sq_brec_frame(sq_brec *r, const void *jpeg, size_t len);
/* Finish: the last frame again (so the video lasts until now), end-of-file,
 * a bounded wait for ffmpeg. Returns an fd of the finished MP4 (read from
 * offset 0; the file in the workspace is removed), or -1 with err. The
 * recorder is off afterwards either way. */
int sq_brec_finish(sq_brec *r, sq_sandbox *rt, int workspace_fd, sq_err *err);
/* Give up without waiting (the sandbox goes): close and kill. */
void sq_brec_abort(sq_brec *r, sq_sandbox *rt);

#endif
