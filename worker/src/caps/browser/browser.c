/* browser.c — see browser.h: finding the binary, and starting and stopping
 * the browser inside a sandbox as a sequence of named steps:
 *
 *   prepare_dir   (in the sandbox) make /workspace/.browser and the profile,
 *                 remove a crashed run's Singleton* locks, make the two FIFOs
 *   open_pipe     (worker) open our ends of the FIFOs, confined and checked
 *   launch        (in the sandbox) start Chromium in the background with the
 *                 FIFOs as its fds 3 and 4
 *   handshake     Browser.getVersion, then attach to its page (flattened
 *                 session) and enable the Page domain
 *
 * Opening order matters: the worker opens both FIFOs first (the call pipe
 * read-write, which never blocks; the answer pipe read-only non-blocking), so
 * the shell's own opens of them in `launch` find the other end there and
 * cannot block either. */
#include "caps/browser/browser.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps/browser/relay_proc.h"
#include "caps/host_binary.h"
#include "caps/sandbox_step.h"
#include "handlers/ws_fs.h"
#include "sq/clock.h"

#define STEP_TIMEOUT_MS 15000      /* each command we run in the sandbox to set up */
#define HANDSHAKE_TIMEOUT_MS 30000 /* a cold start on two busy cores */
#define CLOSE_TIMEOUT_MS 3000      /* Browser.close, then its exit */
#define CLOSING_CHECK_MS 2000      /* asking a page whether it is closing */
#define CLOSE_WAIT_MS 5000         /* a page that asked to close, until it is gone */

static const char default_bin[] = "/usr/lib/chromium/chromium-headless-shell";
static char found_bin[512];

const char *sq_browser_detect(char *why, size_t why_size)
{
    return sq_host_binary_find("SANDQ_BROWSER_BIN", default_bin, "chromium-headless-shell", found_bin,
                               sizeof found_bin, why, why_size);
}

const char *sq_browser_binary(void)
{
    return found_bin[0] ? found_bin : NULL;
}

static const char *profile_dir(const sq_browser_opts *o)
{
    /* Not persistent: the sandbox's /tmp, a tmpfs that dies with it. */
    return o->persistent ? SQ_BROWSER_DIR : "/tmp/.browser-profile";
}

static int prepare_dir(sq_sandbox *rt, const sq_browser_opts *o, sq_err *err)
{
    /* A SIGKILLed browser leaves SingletonLock (a symlink naming a host and
     * pid) behind; the next start would take it for another running browser
     * on the same profile and refuse. */
    static const char script[] = "set -e\n"
                                 "mkdir -p " SQ_BROWSER_DIR " \"$1\"\n"
                                 "rm -f \"$1\"/SingletonLock \"$1\"/SingletonSocket \"$1\"/SingletonCookie\n"
                                 "cd " SQ_BROWSER_DIR "\n"
                                 "rm -f .cdp-in .cdp-out .pid\n"
                                 "mkfifo -m 600 .cdp-in .cdp-out\n";
    const char *argv[] = {"/bin/sh", "-c", script, "sh", profile_dir(o), NULL};
    return sq_sandbox_step(rt, "preparing " SQ_BROWSER_DIR, argv, NULL, STEP_TIMEOUT_MS, NULL, err);
}

static int open_fifo(int workspace_fd, const char *name, int flags, sq_err *err)
{
    char rel[64];
    snprintf(rel, sizeof rel, SQ_BROWSER_DIR_REL "/%s", name);
    int fd = sq_ws_open(workspace_fd, rel, flags | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0, err);
    if (fd < 0)
        return sq_err_wrap(err, "opening the browser's pipe %s", rel);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        close(fd);
        return sq_err_set(err, SQ_INTERNAL, "the browser's pipe %s is not a FIFO", rel);
    }
    return fd;
}

static int open_pipe(sq_browser *b, int workspace_fd, sq_err *err)
{
    /* Read-write: opening never waits for the browser, and the browser never
     * sees end-of-file on its commands while we hold it. */
    int to = open_fifo(workspace_fd, ".cdp-in", O_RDWR, err);
    if (to < 0)
        return -1;
    int from = open_fifo(workspace_fd, ".cdp-out", O_RDONLY, err);
    if (from < 0) {
        close(to);
        return -1;
    }
    sq_cdp_init(&b->cdp, to, from);
    return 0;
}

static int launch(sq_sandbox *rt, const sq_browser_opts *o, sq_err *err)
{
    /* --no-sandbox: Chromium's own sandbox needs user namespaces and
     * seccomp filters that our seccomp list refuses inside a sandbox; the
     * sandbox is the boundary (docs/security.md). The binary is started
     * directly: Debian's /usr/bin wrappers source /etc/chromium.d. */
    static const char script[] =
        "cd " SQ_BROWSER_DIR " || exit 1\n"
        "\"$1\" --no-sandbox --remote-debugging-pipe --user-data-dir=\"$2\" --window-size=\"$3,$4\" "
        "--no-first-run --no-default-browser-check --disable-gpu --disable-crash-reporter --disable-breakpad "
        "--hide-scrollbars --mute-audio --noerrdialogs ${5:+--proxy-server=\"$5\"} about:blank "
        "3<.cdp-in 4>.cdp-out </dev/null >chromium.log 2>&1 &\n"
        "echo $! >.pid\n";
    char w[16], h[16];
    snprintf(w, sizeof w, "%d", o->width);
    snprintf(h, sizeof h, "%d", o->height);
    /* $5: the enforced proxy (docs/egress.md), or "" */
    const char *argv[] = {"/bin/sh", "-c", script, "sh", sq_browser_binary(), profile_dir(o), w, h,
                          o->proxy_server, NULL};
    return sq_sandbox_step(rt, "launching the browser", argv, NULL, STEP_TIMEOUT_MS, NULL, err);
}

/* Attach to the current page once (a flattened session, kept with the page
 * so coming back to it reuses it) and make it the one actions use. */
static int use_page(sq_browser *b, int64_t deadline, sq_err *err)
{
    sq_page_ref *ref = sq_pages_current(&b->pages);
    if (!ref->session[0]) {
        json_t *r = NULL;
        json_t *p = json_pack("{s:s, s:b}", "targetId", ref->target, "flatten", 1);
        int rc = sq_cdp_call(&b->cdp, "Target.attachToTarget", p, NULL, deadline, &r, err);
        json_decref(p);
        if (rc < 0)
            return -1;
        const char *sid = json_string_value(json_object_get(r, "sessionId"));
        snprintf(ref->session, sizeof ref->session, "%s", sid ? sid : "");
        json_decref(r);
        if (!ref->session[0])
            return sq_err_set(err, SQ_INTERNAL, "Target.attachToTarget gave no sessionId");
        if (sq_cdp_call(&b->cdp, "Page.enable", NULL, ref->session, deadline, NULL, err) < 0)
            return -1;
        /* Lifecycle events name their loader, so goto waits for its own page's load. */
        json_t *on = json_pack("{s:b}", "enabled", 1);
        rc = sq_cdp_call(&b->cdp, "Page.setLifecycleEventsEnabled", on, ref->session, deadline, NULL, err);
        json_decref(on);
        if (rc < 0)
            return -1;
        /* A viewport setViewport changed is kept for every page. */
        if (b->width != b->opts.width || b->height != b->opts.height) {
            json_t *m = json_pack("{s:i, s:i, s:i, s:b}", "width", b->width, "height", b->height,
                                  "deviceScaleFactor", 1, "mobile", 0);
            rc = sq_cdp_call(&b->cdp, "Emulation.setDeviceMetricsOverride", m, ref->session, deadline, NULL, err);
            json_decref(m);
            if (rc < 0)
                return -1;
        }
    }
    snprintf(b->session, sizeof b->session, "%s", ref->session);
    return 0;
}

/* Whether the current page has asked to close (window.close() sets
 * window.closed at once, while the browser closes the page a moment later,
 * after the action that called it has returned). */
static bool closing(sq_browser *b, int64_t deadline)
{
    json_t *r = NULL;
    sq_err ignore;
    json_t *p = json_pack("{s:s, s:b}", "expression", "window.closed === true", "returnByValue", 1);
    int64_t soon = sq_cdp_clock(&b->cdp) + CLOSING_CHECK_MS;
    int rc = sq_cdp_call(&b->cdp, "Runtime.evaluate", p, b->session, soon < deadline ? soon : deadline, &r, &ignore);
    json_decref(p);
    bool yes = rc == 0 && json_is_true(json_object_get(json_object_get(r, "result"), "value"));
    json_decref(r);
    return yes;
}

int sq_browser_follow(sq_browser *b, int64_t deadline, sq_err *err)
{
    json_t *r = NULL;
    if (b->session[0] && sq_browser_alive(b) && closing(b, deadline)) {
        /* Wait (bounded) for it to be gone, so the next action is for the
         * page that becomes current, not for one about to vanish. */
        int64_t until = sq_cdp_clock(&b->cdp) + CLOSE_WAIT_MS;
        if (until > deadline)
            until = deadline;
        while (sq_browser_alive(b) && sq_cdp_clock(&b->cdp) < until)
            if (sq_cdp_sleep(&b->cdp, sq_cdp_clock(&b->cdp) + 50, err) < 0)
                return -1;
    }
    if (sq_cdp_call(&b->cdp, "Target.getTargets", NULL, NULL, deadline, &r, err) < 0)
        return -1;
    sq_pages_update(&b->pages, json_object_get(r, "targetInfos"));
    json_decref(r);
    if (!sq_pages_current(&b->pages)) {
        /* Every page was closed: a blank one, as a browser window keeps one. */
        json_t *p = json_pack("{s:s}", "url", "about:blank");
        int rc = sq_cdp_call(&b->cdp, "Target.createTarget", p, NULL, deadline, &r, err);
        json_decref(p);
        if (rc < 0)
            return -1;
        sq_pages_reset(&b->pages, json_string_value(json_object_get(r, "targetId")));
        json_decref(r);
        if (!sq_pages_current(&b->pages))
            return sq_err_set(err, SQ_INTERNAL, "Target.createTarget gave no targetId");
    }
    return use_page(b, deadline, err);
}

static int attach_page(sq_browser *b, int64_t deadline, sq_err *err)
{
    sq_pages_reset(&b->pages, NULL);
    return sq_browser_follow(b, deadline, err);
}

static int handshake(sq_browser *b, int64_t deadline, sq_err *err)
{
    json_t *r = NULL;
    if (sq_cdp_call(&b->cdp, "Browser.getVersion", NULL, NULL, deadline, &r, err) < 0)
        return sq_err_wrap(err, "waiting for the browser (see " SQ_BROWSER_DIR "/chromium.log)");
    snprintf(b->version, sizeof b->version, "%s", json_string_value(json_object_get(r, "product")) ?: "?");
    json_decref(r);
    if (attach_page(b, deadline, err) < 0)
        return sq_err_wrap(err, "attaching to the browser's page");
    return 0;
}

/* Kill the browser process in the sandbox, by the pid the launch recorded.
 * The command runs in the sandbox with the sandbox's rights, so a pid file the
 * sandbox rewrote can only make it signal the sandbox's own processes. */
static void kill_in_sandbox(sq_sandbox *rt)
{
    static const char script[] = "p=$(cat " SQ_BROWSER_DIR "/.pid 2>/dev/null) && [ -n \"$p\" ] && "
                                 "kill -KILL \"$p\" 2>/dev/null; exit 0\n";
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    sq_err ignore;
    (void)sq_sandbox_step(rt, "killing the browser", argv, NULL, STEP_TIMEOUT_MS, NULL, &ignore);
}

int sq_browser_start(sq_browser *b, const sq_browser_opts *o, sq_sandbox *rt, int workspace_fd, sq_err *err)
{
    sq_cdp_control *ctl = b->cdp.ctl; /* a task's control lane watches the start too */
    memset(b, 0, sizeof *b);
    b->cdp.to_fd = b->cdp.from_fd = -1;
    b->cdp.ctl = ctl;
    b->opts = *o;
    b->width = o->width;
    b->height = o->height;
    if (!sq_browser_binary())
        return sq_err_set(err, SQ_CAPABILITY_UNAVAILABLE, "this worker has no browser installed");
    int64_t t0 = sq_mono_ms();
    if (prepare_dir(rt, o, err) < 0 || open_pipe(b, workspace_fd, err) < 0)
        return -1;
    sq_cdp_set_control(&b->cdp, ctl);
    b->running = true;
    /* With proxy credentials, the relay the browser's --proxy-server names
     * (relay.h) listens before the browser starts. */
    if ((o->relay_conf[0] && sq_relay_start(rt, o->relay_conf, err) < 0) || launch(rt, o, err) < 0 ||
        handshake(b, sq_cdp_clock(&b->cdp) + HANDSHAKE_TIMEOUT_MS, err) < 0) {
        sq_err keep = *err;
        sq_browser_stop(b, rt);
        *err = keep;
        return -1;
    }
    b->startup_ms = sq_mono_ms() - t0;
    return 0;
}

bool sq_browser_alive(const sq_browser *b)
{
    /* A page that went away is not a crash unless it is the current one (a
     * closed popup is followed back to its opener before the next action);
     * "?" is a crash that named no session. */
    const char *crashed = b->cdp.crashed_session;
    bool page_lost = crashed[0] && (strcmp(crashed, "?") == 0 || strcmp(crashed, b->session) == 0);
    return b->running && !b->cdp.gone && !page_lost;
}

bool sq_browser_stop(sq_browser *b, sq_sandbox *rt)
{
    if (!b->running)
        return false;
    bool clean = false;
    if (rt && !b->cdp.gone) {
        /* A clean close writes cookies and storage to the profile and
         * removes its Singleton* locks; then the pipe reaches end-of-file. */
        int64_t deadline = sq_cdp_clock(&b->cdp) + CLOSE_TIMEOUT_MS;
        sq_err ignore;
        (void)sq_cdp_call(&b->cdp, "Browser.close", NULL, NULL, deadline, NULL, &ignore);
        clean = sq_cdp_wait_closed(&b->cdp, deadline);
    }
    if (rt && !b->cdp.gone)
        kill_in_sandbox(rt);
    if (rt && b->opts.relay_conf[0]) /* without rt the sandbox's cgroup goes, the relay with it */
        sq_relay_stop(rt);
    sq_cdp_close(&b->cdp);
    b->running = false;
    b->session[0] = '\0';
    return clean;
}
