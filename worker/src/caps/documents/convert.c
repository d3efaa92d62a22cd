/* convert.c — see convert.h. */
#include "caps/documents/convert.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handlers/ws_fs.h"
#include "caps/host_binary.h"
#include "sq/cleanup.h"

static char found_bin[512];

const char *sq_doc_detect(char *why, size_t why_size)
{
    /* The sandbox also sees /etc/libreoffice (sandbox/rootfs.c). */
    if (!sq_host_binary_find("SANDQ_SOFFICE_BIN", "/usr/bin/soffice",
                             "libreoffice-writer-nogui and the other -nogui packages", found_bin, sizeof found_bin, why,
                             why_size))
        return NULL;
    if (access("/usr/bin/pdftotext", X_OK) < 0) {
        found_bin[0] = '\0';
        snprintf(why, why_size, "/usr/bin/pdftotext: %s (install poppler-utils)", strerror(errno));
        return NULL;
    }
    return found_bin;
}

const char *sq_doc_soffice(void)
{
    return found_bin[0] ? found_bin : NULL;
}

/* $1 input, $2 outdir, $3 output, $4 import filter, $5 --convert-to, $6 soffice.
 * The steps: the output directory (soffice makes it too, pdftotext does not);
 * no stale output, so a conversion that writes nothing is seen as such
 * (soffice exits 0 when it cannot load its input); a profile lock left by a
 * conversion that was killed removed (tasks of a sandbox run one at a time,
 * and this profile is only ever used by them). --norestore: no crash
 * recovery dialog state; --nolockcheck: the input's lock file is not ours to
 * judge (the workspace may hold a copy of one). */
static const char soffice_script[] =
    "mkdir -p -- \"$2\" && rm -f -- \"$3\" || exit 125\n"
    "mkdir -p " SQ_DOC_DIR "/home && rm -f " SQ_DOC_DIR "/profile/.lock || exit 125\n"
    "exec \"$6\" -env:UserInstallation=file://" SQ_DOC_DIR "/profile --headless --invisible --nologo "
    "--norestore --nolockcheck --nodefault \"--infilter=$4\" --convert-to \"$5\" --outdir \"$2\" \"$1\"\n";
static const char pdftotext_script[] = "mkdir -p -- \"$2\" && rm -f -- \"$3\" || exit 125\n"
                                       "exec pdftotext -enc UTF-8 \"$1\" \"$3\"\n";

void sq_doc_command_build(sq_doc_command *c, const sq_doc_plan *plan, const char *sandbox_id, const char *in_abs,
                          const char *outdir_abs, const char *out_abs)
{
    int n = 0;
    c->argv[n++] = "/bin/sh";
    c->argv[n++] = "-c";
    c->argv[n++] = plan->tool == SQ_DOC_SOFFICE ? soffice_script : pdftotext_script;
    c->argv[n++] = "sandq-document";
    c->argv[n++] = in_abs;
    c->argv[n++] = outdir_abs;
    c->argv[n++] = out_abs;
    if (plan->tool == SQ_DOC_SOFFICE) {
        c->argv[n++] = plan->infilter;
        c->argv[n++] = plan->convert_to;
        c->argv[n++] = sq_doc_soffice();
    }
    c->argv[n] = NULL;
    /* Not the sandbox's env: a conversion needs none of it (no network), and
     * HOME must be writable and private (LibreOffice writes ~/.config). */
    snprintf(c->sandbox_env, sizeof c->sandbox_env, "SANDQ_SANDBOX_ID=%s", sandbox_id);
    n = 0;
    c->envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    c->envp[n++] = "HOME=" SQ_DOC_DIR "/home";
    c->envp[n++] = "LANG=C.UTF-8";
    c->envp[n++] = c->sandbox_env;
    c->envp[n] = NULL;
}

int sq_doc_output_stat(int workspace_fd, const char *rel, int64_t *size, char sha256[65], sq_err *err)
{
    struct stat st;
    sq_autoclose int fd = sq_ws_open_regular(workspace_fd, rel, O_RDONLY, 0, &st, err);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return sq_err_set(err, SQ_INTERNAL, "sha256: cannot initialise the digest");
    }
    /* Read up to the size fstat gave: a file the sandbox keeps appending to
     * cannot hold the worker's thread longer than its size at open. */
    char buf[65536];
    int64_t left = st.st_size;
    while (left > 0) {
        ssize_t r = read(fd, buf, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf);
        if (r < 0) {
            EVP_MD_CTX_free(md);
            return sq_err_errno(err, "read %s", rel);
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)r);
        left -= r;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(sha256 + 2 * i, 3, "%02x", d[i]);
    *size = st.st_size - left;
    return 0;
}
