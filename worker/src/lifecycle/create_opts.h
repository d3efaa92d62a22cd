/* create_opts.h — what sandbox.create asks of the sandbox's disk and network,
 * checked against the operator's settings and turned into runtime options.
 * Called by handlers/create_kill.c and lifecycle/live.c (the disk's release);
 * the mechanics are in sandbox/disk.c and sandbox/netstack.c. */
#ifndef SQ_CREATE_OPTS_H
#define SQ_CREATE_OPTS_H

#include <jansson.h>

#include "lifecycle/create_policy.h"
#include "worker.h"

/* The network mode, /tmp size and egress lists for sq_sandbox_start. */
void sq_create_runtime_opts(const sq_worker_config *cfg, const json_t *body, sq_sandbox_opts *opts);

/* The create's proxy url (capabilities.proxy.url or browser.byoProxyUrl,
 * credentials included: commands authenticate themselves) → proxy variables
 * in sb->env (explicit env wins). url NULL: nothing. */
int sq_create_proxy_env(const char *url, sq_live_sandbox *sb, sq_err *err);

/* Give the (just made, empty) workspace directory its own file system of
 * limits.diskMb (default SANDQ_DEFAULT_DISK_MB), unless SANDQ_DISK_LIMIT is off. */
int sq_workspace_disk_attach(const sq_worker *w, const sq_live_sandbox *sb, const json_t *body, sq_err *err);

/* If the workspace is a mount (its own file system), close sb->workspace_fd,
 * unmount it and remove the directory; returns 1 then, 0 when the workspace is
 * a plain directory (the caller empties and removes it). */
int sq_workspace_disk_release(sq_live_sandbox *sb);

#endif
