/* store.c — see store.h: settings, and the dispatch to a back end. */
#include "artifacts/store.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sq/env.h"
#include "sq/fsutil.h"
#include "sq/log.h"

static void copy_env(char *dst, size_t n, const char *name, const char *fallback_name, const char *dflt)
{
    const char *v = sq_env_str(name, NULL);
    if (!v && fallback_name)
        v = sq_env_str(fallback_name, NULL);
    snprintf(dst, n, "%s", v ? v : dflt);
}

/* The folder that holds the workspace root: where the worker keeps what must
 * be beside the workspaces, never inside them (the workspace sweep owns that,
 * and a sandbox must not see it). /var/lib/sandq when the root has no parent. */
static void workspace_parent(const char *workspace_root, char *out, size_t size)
{
    snprintf(out, size, "%s", workspace_root);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash && slash != out)
        *slash = '\0';
    else
        snprintf(out, size, "/var/lib/sandq");
}

int sq_art_store_from_env(sq_art_store *s, const char *workspace_root, const char *http_addr, int64_t http_port,
                          sq_err *err)
{
    memset(s, 0, sizeof *s);
    const char *url = sq_env_str("SANDQ_ARTIFACT_STORE", NULL);
    if (url) {
        snprintf(s->url, sizeof s->url, "%s", url);
    } else {
        /* Beside the workspaces, never inside: the workspace sweep owns that. */
        char root[1024];
        workspace_parent(workspace_root, root, sizeof root);
        snprintf(s->url, sizeof s->url, "file://%s/artifacts", root);
    }
    if (sq_store_loc_parse(s->url, "SANDQ_ARTIFACT_STORE", &s->loc, err) < 0)
        return -1;
    /* The canonical form, recorded on each row and compared by the download
     * handler: "file:///a/b/" and "file:///a/b" are one store. */
    if (s->loc.kind == SQ_STORE_FILE)
        snprintf(s->url, sizeof s->url, "file://%s", s->loc.dir);
    else
        snprintf(s->url, sizeof s->url, "s3://%s%s%s", s->loc.bucket, s->loc.prefix[0] ? "/" : "", s->loc.prefix);
    if (sq_env_int("SANDQ_ARTIFACT_URL_TTL_S", 86400, 60, 604800, &s->url_ttl_s, err) < 0 ||
        sq_env_int("SANDQ_ARTIFACT_MAX_BYTES", 1LL << 30, 0, 1LL << 40, &s->max_file_bytes, err) < 0 ||
        sq_env_int("SANDQ_ARTIFACT_MAX_FILES", 256, 1, 10000, &s->max_files, err) < 0 ||
        sq_env_int("SANDQ_S3_PART_BYTES", 8LL << 20, 5LL << 20, 5LL << 30, &s->s3_part_bytes, err) < 0 ||
        sq_env_int("SANDQ_S3_TIMEOUT_MS", 300000, 1000, 3600000, &s->s3_timeout_ms, err) < 0 ||
        sq_env_int("SANDQ_S3_PARALLEL", 4, 1, 16, &s->s3_parallel, err) < 0 ||
        sq_env_int("SANDQ_CHECKPOINT_KEEP", 5, 1, 1000, &s->ckpt_keep, err) < 0 ||
        sq_env_int("SANDQ_CHECKPOINT_AUTO_KEEP", 3, 1, 1000, &s->ckpt_auto_keep, err) < 0 ||
        sq_env_int("SANDQ_CHECKPOINT_MAX_BYTES", 8LL << 30, 1 << 20, 1LL << 40, &s->ckpt_max_bytes, err) < 0 ||
        sq_env_int("SANDQ_CHECKPOINT_TIMEOUT_MS", 600000, 1000, 86400000, &s->ckpt_timeout_ms, err) < 0)
        return -1;
    { /* Archives are spooled beside the workspaces (never inside: the sweep
       * owns that, and the sandbox must not see them) as unnamed O_TMPFILEs. */
        char root[1024];
        workspace_parent(workspace_root, root, sizeof root);
        snprintf(s->ckpt_tmp, sizeof s->ckpt_tmp, "%s/checkpoint-tmp", root);
        if (sq_mkdir_p(s->ckpt_tmp, 0700) < 0)
            return sq_err_errno(err, "checkpoints: mkdir %s", s->ckpt_tmp);
    }
    char base[512];
    snprintf(base, sizeof base, "http://%s:%lld", http_addr, (long long)http_port);
    copy_env(s->url_base, sizeof s->url_base, "SANDQ_ARTIFACT_URL_BASE", NULL, base);

    sq_err kerr;
    if (sq_art_url_key(sq_env_str("SANDQ_ARTIFACT_URL_KEY", NULL), sq_env_str("SANDQ_WEBHOOK_SECRET_KEY", NULL),
                       s->url_key, &kerr) < 0) {
        if (sq_env_str("SANDQ_ARTIFACT_URL_KEY", NULL) || sq_env_str("SANDQ_WEBHOOK_SECRET_KEY", NULL)) {
            *err = kerr;
            return -1;
        }
        /* No shared key: URLs signed here are good only on this worker, and
         * only until it restarts. Fine for a laptop, not for a fleet. */
        RAND_bytes(s->url_key, sizeof s->url_key);
        sq_warn(NULL, "artifacts: no SANDQ_ARTIFACT_URL_KEY or SANDQ_WEBHOOK_SECRET_KEY: download URLs are signed "
                      "with a per-process key (they stop working when this worker restarts)");
    }

    if (s->loc.kind == SQ_STORE_FILE) {
        if (sq_mkdir_p(s->loc.dir, 0700) < 0)
            return sq_err_errno(err, "artifact store: mkdir %s", s->loc.dir);
        return 0;
    }
    copy_env(s->s3_endpoint, sizeof s->s3_endpoint, "SANDQ_S3_ENDPOINT", NULL, "https://s3.amazonaws.com");
    copy_env(s->s3_region, sizeof s->s3_region, "SANDQ_S3_REGION", "AWS_REGION", "us-east-1");
    copy_env(s->s3_access, sizeof s->s3_access, "SANDQ_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", "");
    copy_env(s->s3_secret, sizeof s->s3_secret, "SANDQ_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "");
    if (!s->s3_access[0] || !s->s3_secret[0])
        return sq_err_field(err, SQ_INVALID_REQUEST, "SANDQ_S3_ACCESS_KEY_ID",
                            "an s3:// artifact store needs SANDQ_S3_ACCESS_KEY_ID and SANDQ_S3_SECRET_ACCESS_KEY");
    return sq_s3_endpoint_split(s->s3_endpoint, s->s3_scheme, s->s3_host, err);
}

int sq_art_store_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const char *content_type,
                     const sq_art_stop *stop, char sha256_out[65], sq_err *err)
{
    if (s->loc.kind == SQ_STORE_FILE)
        return sq_art_file_put(s, key, fd, size, stop, sha256_out, err);
    return sq_art_s3_put(s, key, fd, size, content_type, stop, sha256_out, err);
}

int sq_art_store_url(const sq_art_store *s, const char *artifact_id, const char *key, int64_t now_s,
                     char out[SQ_ART_URL_MAX], sq_err *err)
{
    if (s->loc.kind == SQ_STORE_FILE) {
        if (sq_art_url_sign(s->url_key, s->url_base, artifact_id, now_s + s->url_ttl_s, out) < 0)
            return sq_err_set(err, SQ_INTERNAL, "artifact URL too long");
        return 0;
    }
    char okey[SQ_ART_KEY_MAX], enc[SQ_ART_KEY_MAX * 3 + 80], path[SQ_ART_KEY_MAX * 3 + 160];
    if (sq_art_object_key(&s->loc, key, okey) < 0 || !sq_s3_uri_encode(okey, true, enc, sizeof enc))
        return sq_err_set(err, SQ_INTERNAL, "artifact key too long");
    snprintf(path, sizeof path, "/%s/%s", s->loc.bucket, enc);
    sq_s3_presign_in in = {.scheme = s->s3_scheme, .host = s->s3_host, .path = path, .region = s->s3_region,
                           .access_key = s->s3_access, .secret_key = s->s3_secret, .now_s = now_s,
                           .expires_s = s->url_ttl_s};
    return sq_s3_presign_get(&in, out, err);
}

int sq_art_store_open_file(const sq_art_store *s, const char *key, sq_err *err)
{
    if (s->loc.kind != SQ_STORE_FILE)
        return sq_err_set(err, SQ_NOT_FOUND, "this worker's artifact store is not a directory");
    int dfd = open(s->loc.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return sq_err_errno(err, "open %s", s->loc.dir);
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dfd, key, &how, sizeof how);
    int e = errno;
    close(dfd);
    if (fd < 0) {
        errno = e;
        return e == ENOENT ? sq_err_set(err, SQ_NOT_FOUND, "no such artifact in the store")
                           : sq_err_errno(err, "open artifact");
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sq_err_set(err, SQ_NOT_FOUND, "not a stored artifact");
    }
    return fd;
}

int sq_art_store_get(const sq_art_store *s, const char *key, int fd, uint64_t max, const sq_art_stop *stop,
                     uint64_t *size, sq_err *err)
{
    if (s->loc.kind != SQ_STORE_FILE)
        return sq_art_s3_get(s, key, fd, max, stop, size, err);
    int in = sq_art_store_open_file(s, key, err);
    if (in < 0)
        return -1;
    int rc = -1;
    char *buf = malloc(1 << 20);
    uint64_t total = 0;
    if (!buf) {
        sq_err_set(err, SQ_INTERNAL, "out of memory");
        goto done;
    }
    for (;;) {
        if (stop && stop->fn(stop->user)) {
            sq_err_set(err, SQ_CANCELED, "download stopped: the sandbox is being killed");
            goto done;
        }
        ssize_t n = read(in, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sq_err_errno(err, "reading the stored object");
            goto done;
        }
        if (n == 0)
            break;
        if (total + (uint64_t)n > max) {
            sq_err_set(err, SQ_LIMIT_EXCEEDED, "the stored object is larger than %llu bytes", (unsigned long long)max);
            goto done;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                sq_err_errno(err, "writing the stored object");
                goto done;
            }
            off += w;
        }
        total += (uint64_t)n;
    }
    *size = total;
    rc = 0;
done:
    free(buf);
    close(in);
    return rc;
}

int sq_art_store_delete(const sq_art_store *s, const char *key, sq_err *err)
{
    if (s->loc.kind != SQ_STORE_FILE)
        return sq_art_s3_delete(s, key, err);
    int dfd = open(s->loc.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return sq_err_errno(err, "open %s", s->loc.dir);
    /* The key's parent, beneath the store and without symlinks, then the leaf. */
    const char *slash = strrchr(key, '/');
    int parent = dfd;
    if (slash) {
        char dir[SQ_ART_KEY_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - key), key);
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        parent = (int)syscall(SYS_openat2, dfd, dir, &how, sizeof how);
        close(dfd);
        if (parent < 0)
            return errno == ENOENT ? 0 : sq_err_errno(err, "artifact store: open %s", dir);
    }
    int rc = unlinkat(parent, slash ? slash + 1 : key, 0);
    int e = errno;
    close(parent);
    if (rc < 0 && e != ENOENT) {
        errno = e;
        return sq_err_errno(err, "artifact store: remove");
    }
    return 0;
}
