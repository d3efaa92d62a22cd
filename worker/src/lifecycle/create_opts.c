/* create_opts.c — see create_opts.h. */
#include "lifecycle/create_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lifecycle/proxy_env.h"
#include "sandbox/disk.h"
#include "sq/log.h"

void sq_create_runtime_opts(const sq_worker_config *cfg, const json_t *body, sq_sandbox_opts *opts)
{
    opts->network = sq_create_wants_internet(body) ? SQ_NET_INTERNET : SQ_NET_NONE;
    opts->net_allow = cfg->net_allow;
    opts->net_deny = cfg->net_deny;
    opts->dns = cfg->sandbox_dns;
    opts->tmp_size_mb = (size_t)cfg->tmp_mb;
}

int sq_create_proxy_env(const char *url, sq_live_sandbox *sb, sq_err *err)
{
    if (sq_proxy_env(url, sb->env) < 0)
        return sq_err_set(err, SQ_INTERNAL, "out of memory");
    return 0;
}

int sq_workspace_disk_attach(const sq_worker *w, const sq_live_sandbox *sb, const json_t *body, sq_err *err)
{
    if (!w->cfg.disk_limit)
        return 0;
    return sq_disk_attach(sb->workspace, (uint64_t)sq_create_disk_mb(&w->cfg, body), sb->host_uid, sb->host_gid, err);
}

/* A mount point's device differs from its parent directory's. */
static bool is_mount_point(const char *path)
{
    struct stat a, b;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/..", path);
    return lstat(path, &a) == 0 && S_ISDIR(a.st_mode) && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int sq_workspace_disk_release(sq_live_sandbox *sb)
{
    if (!sb->workspace[0] || !is_mount_point(sb->workspace))
        return 0;
    sq_log_ctx lc = {.sandbox_id = sb->id};
    if (sb->workspace_fd >= 0)
        close(sb->workspace_fd); /* it pins the mount */
    sb->workspace_fd = -1;
    sq_err err;
    if (sq_disk_detach(sb->workspace, &err) < 0) {
        sq_warn(&lc, "%s", err.msg);
        return 1;
    }
    if (rmdir(sb->workspace) < 0 && errno != ENOENT)
        sq_warn(&lc, "could not remove workspace %s: %s", sb->workspace, strerror(errno));
    return 1;
}
