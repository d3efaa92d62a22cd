/* store_file.c — the directory back end of the artifact store (store.h).
 *
 * The key's directories are made one level at a time under an fd of the store
 * root with O_NOFOLLOW, the bytes go to a temporary file in the final
 * directory and are renamed over the key once complete and fsynced: a reader
 * (the download handler, another worker on a shared volume) sees the whole
 * artifact or none of it. */
#include "artifacts/store.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1 << 20)

/* mkdir -p of key's parent under root_fd; returns an fd of that directory. */
static int open_parent(int root_fd, const char *key, const char **leaf, sq_err *err)
{
    int dfd = dup(root_fd);
    if (dfd < 0)
        return sq_err_errno(err, "dup");
    const char *p = key;
    for (;;) {
        size_t n = strcspn(p, "/");
        if (p[n] != '/') {
            *leaf = p;
            return dfd;
        }
        char seg[256];
        if (n == 0 || n >= sizeof seg) {
            close(dfd);
            return sq_err_set(err, SQ_INTERNAL, "bad artifact key segment");
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (mkdirat(dfd, seg, 0700) < 0 && errno != EEXIST) {
            sq_err_errno(err, "artifact store: mkdir %s", seg);
            close(dfd);
            return -1;
        }
        int next = openat(dfd, seg, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        if (next < 0)
            return sq_err_errno(err, "artifact store: open %s", seg);
        dfd = next;
        p += n + 1;
    }
}

int sq_art_file_put(const sq_art_store *s, const char *key, int fd, uint64_t size, const sq_art_stop *stop,
                    char sha256_out[65], sq_err *err)
{
    int root = open(s->loc.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return sq_err_errno(err, "artifact store: open %s", s->loc.dir);
    const char *leaf = NULL;
    int dfd = open_parent(root, key, &leaf, err);
    close(root);
    if (dfd < 0)
        return -1;
    unsigned char rnd[8];
    RAND_bytes(rnd, sizeof rnd);
    char tmp[64];
    snprintf(tmp, sizeof tmp, ".tmp-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7]);
    /* dfd is O_PATH: reopen it as a real directory for openat(O_CREAT). */
    int dir = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dfd);
    if (dir < 0)
        return sq_err_errno(err, "artifact store: open directory");
    int out = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        sq_err_errno(err, "artifact store: create");
        close(dir);
        return -1;
    }
    char *buf = malloc(COPY_CHUNK);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;
    if (!buf || !md) {
        sq_err_set(err, SQ_INTERNAL, "out of memory");
        goto done;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    uint64_t done_bytes = 0;
    while (done_bytes < size) {
        if (stop && stop->fn(stop->user)) {
            sq_err_set(err, SQ_CANCELED, "upload stopped: the sandbox is being killed");
            goto done;
        }
        size_t want = size - done_bytes < COPY_CHUNK ? (size_t)(size - done_bytes) : COPY_CHUNK;
        ssize_t n = pread(fd, buf, want, (off_t)done_bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sq_err_errno(err, "read");
            goto done;
        }
        if (n == 0) {
            sq_err_set(err, SQ_INVALID_REQUEST, "the file shrank while it was exported");
            goto done;
        }
        EVP_DigestUpdate(md, buf, (size_t)n);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                sq_err_errno(err, "artifact store: write");
                goto done;
            }
            off += w;
        }
        done_bytes += (uint64_t)n;
    }
    if (fdatasync(out) < 0) {
        sq_err_errno(err, "artifact store: fsync");
        goto done;
    }
    if (renameat(dir, tmp, dir, leaf) < 0) {
        sq_err_errno(err, "artifact store: rename");
        goto done;
    }
    unsigned char h[32];
    unsigned int hl = 32;
    EVP_DigestFinal_ex(md, h, &hl);
    for (int i = 0; i < 32; i++)
        snprintf(sha256_out + 2 * i, 3, "%02x", h[i]);
    rc = 0;
done:
    if (rc < 0)
        unlinkat(dir, tmp, 0);
    EVP_MD_CTX_free(md);
    free(buf);
    close(out);
    close(dir);
    return rc;
}
