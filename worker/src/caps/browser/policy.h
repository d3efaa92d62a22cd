/* policy.h — capabilities.browser at create, as pure rules: is it asked for,
 * may this sandbox have it (binary present, memory floor), and with which
 * options (viewport, persistent profile). No I/O; unit-tested. */
#ifndef SQ_BROWSER_POLICY_H
#define SQ_BROWSER_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "caps/browser/relay.h"
#include "sq/err.h"

/* Below this a browser crawls or fails (a cold start alone charges 260–360
 * MiB of page cache to the sandbox's memory cgroup): issue 11's measurements. */
#define SQ_BROWSER_MIN_MEMORY_MB 512
#define SQ_BROWSER_DEFAULT_WIDTH 1280
#define SQ_BROWSER_DEFAULT_HEIGHT 720

typedef struct sq_browser_opts {
    bool wanted;        /* capabilities.browser is present */
    int width, height;  /* viewport */
    bool persistent;    /* profile in /workspace/.browser (default) or in the sandbox's /tmp */
    char proxy_server[320]; /* --proxy-server (scheme://host:port, no credentials), "" = none; set by
                             * the create handler from lifecycle/egress.h; with credentials,
                             * SQ_RELAY_SERVER */
    char relay_conf[SQ_RELAY_CONF_MAX]; /* the relay's configuration (credentials included: memory
                                         * only, wiped when the browser goes), "" = no relay (relay.h) */
} sq_browser_opts;

/* Read capabilities.browser from a create body (already schema-checked). */
void sq_browser_opts_from(const json_t *create_body, sq_browser_opts *o);

/* May this create have its browser? available: the worker found the binary;
 * memory_mb: the sandbox's resolved memory limit (0 = none). Fails with
 * capability_unavailable (field body.capabilities.browser) or limit_exceeded
 * (field body.limits.memoryMb). */
int sq_browser_create_check(const sq_browser_opts *o, bool available, int64_t memory_mb, sq_err *err);

#endif
