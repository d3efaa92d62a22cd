/* browser.h — a sandbox's browser: one Chromium (headless shell) process
 * inside the sandbox, driven over its DevTools pipe.
 *
 * The browser is a process *of the sandbox*: started through the sandbox's
 * init like any command, so it lives in the sandbox's namespaces and cgroup,
 * under its memory and pid limits, is frozen with it on pause and killed with
 * it. Its DevTools pipe (its fds 3 and 4) is a pair of FIFOs in
 * /workspace/.browser that the worker opens from the host side, confined to
 * the workspace (handlers/ws_fs.h) and checked to be FIFOs — the sandbox
 * runtime needs no new channel for it, and nothing the sandbox plants there
 * can make the worker block or leave the workspace.
 *
 * Used by the sandbox's actor thread only. Every call has a deadline. */
#ifndef SQ_BROWSER_H
#define SQ_BROWSER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps/browser/cdp.h"
#include "caps/browser/pages.h"
#include "caps/browser/policy.h"
#include "sandbox/sandbox.h"

typedef struct sq_browser {
    sq_browser_opts opts;
    sq_cdp cdp;
    bool running;                  /* started and its pipe open */
    char session[SQ_CDP_NAME_MAX]; /* the current page's flattened session */
    sq_pages pages;                /* the open pages, and which one is current (pages.h) */
    char version[128];             /* "HeadlessChrome/156.0…" */
    int width, height;             /* the viewport now (setViewport moves it) */
    int64_t startup_ms;            /* the last start: launch to page attached */
    bool exit_reported;            /* its death has had its sandbox.browser.failed */
} sq_browser;

/* Where the browser's files live inside the sandbox, and relative to the
 * workspace for the worker. */
#define SQ_BROWSER_DIR "/workspace/.browser"
#define SQ_BROWSER_DIR_REL ".browser"

/* The binary, found once at worker start: SANDQ_BROWSER_BIN, or Debian's
 * chromium-headless-shell. It must be under /usr, the part of the host a
 * sandbox sees. Returns NULL (and why) when there is none. */
const char *sq_browser_detect(char *why, size_t why_size);
/* What sq_browser_detect found (NULL: the capability is unavailable). */
const char *sq_browser_binary(void);

/* Start the browser in rt (steps in browser.c), until its page is attached.
 * workspace_fd is the workspace's O_PATH fd. On failure nothing of it is left
 * running and err says which step failed. */
int sq_browser_start(sq_browser *b, const sq_browser_opts *o, sq_sandbox *rt, int workspace_fd, sq_err *err);

/* Follow new tabs and popups (the rule is pages.h): list the browser's pages,
 * make the one the rule picks current (attached, b->session), opening a blank
 * page when none is left. Called before every action. */
int sq_browser_follow(sq_browser *b, int64_t deadline, sq_err *err);

/* Whether the browser still answers on its pipe and its current page has not
 * crashed (no I/O). */
bool sq_browser_alive(const sq_browser *b);

/* Close the browser: Browser.close (so cookies and storage are flushed to the
 * profile), then wait a bounded time for it to exit, then kill what is left
 * of it in the sandbox. Safe on a browser that is not running. rt may be NULL
 * (the sandbox is going anyway: only the pipe is closed). Returns whether it
 * closed by itself (cleanly) rather than being killed. */
bool sq_browser_stop(sq_browser *b, sq_sandbox *rt);

#endif
