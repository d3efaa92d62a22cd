/* cmd_files.c — `sandq files put|get|ls|rm`: copy files into and out of a sandbox's
 * /workspace, list and remove them. Transfers of any size are chunked and verified
 * (sha256) by libsandq. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sq/cleanup.h"
#include "sq/codec.h"
#include "units.h"

#define STDIN_PUT_MAX ((size_t)2 << 30)

static const char help[] =
    "usage: sandq files put LOCAL SBX:PATH     copy a local file (or - for stdin) in\n"
    "       sandq files get SBX:PATH LOCAL     copy a file out (LOCAL - for stdout)\n"
    "       sandq files ls SBX [PATH] [-r]     list a directory (default /workspace)\n"
    "       sandq files rm SBX PATH [-r]       remove a file (-r: a directory tree)\n"
    "\n"
    "PATH is inside /workspace; a relative PATH is relative to it. Any size works:\n"
    "files travel in verified 512 KiB chunks (get: in ranges of 4 MiB, one request\n"
    "each). ls and rm also accept SBX:PATH.\n"
    "\n"
    "Options:\n"
    "  --mode MODE          put: octal file mode for a new file, e.g. 0755\n"
    "  --max SIZE           get: refuse files larger than SIZE (default 256M)\n"
    "  --offset N           get: start at byte N (a size: 0, 4096, 2G)\n"
    "  --length SIZE        get: copy at most SIZE bytes (default: to the end)\n"
    "  -r, --recursive      ls: list the whole tree; rm: remove a directory tree\n"
    "  --timeout D          longest wait for any one answer (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               machine output: put/get {\"path\",\"sizeBytes\",\"sha256\"},\n"
    "                       ls the worker's listing, rm {\"path\",\"removed\":true}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq files put ./data.csv $SBX:/workspace/data.csv\n"
    "  tar czf - src | sandq files put - $SBX:src.tgz\n"
    "  sandq files get $SBX:out/report.pdf ./report.pdf\n"
    "  sandq files get $SBX:/workspace/log.txt - | tail\n"
    "  sandq files ls $SBX -r\n"
    "  sandq files rm $SBX build -r\n";

static const char cp_help[] =
    "usage: sandq cp LOCAL SBX:PATH            copy a local file (- for stdin) into a sandbox\n"
    "       sandq cp SBX:PATH LOCAL            copy a file out (LOCAL - for stdout)\n"
    "\n"
    "PATH is inside /workspace (relative paths are relative to it). Any size: files\n"
    "travel in ordered 512 KiB chunks, each verified by sha256, and the whole file's\n"
    "size and sha256 are checked. Same as `sandq files put|get`.\n"
    "\n"
    "Options:\n"
    "  --mode MODE          into a sandbox: octal mode for a new file, e.g. 0755\n"
    "  --max SIZE           out of a sandbox: refuse files larger than SIZE (default 256M)\n"
    "  --offset N           out of a sandbox: start at byte N\n"
    "  --length SIZE        out of a sandbox: copy at most SIZE bytes\n"
    "  --timeout D          longest wait for any one answer (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"path\",\"sizeBytes\",\"sha256\",…}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq cp ./data.csv $SBX:/workspace/data.csv\n"
    "  sandq cp $SBX:out/report.pdf ./report.pdf\n"
    "  sandq cp $SBX:log.txt - | tail\n";

static const char ls_help[] =
    "usage: sandq ls SBX [PATH] [-r] [--json]\n"
    "\n"
    "List a directory of the sandbox (default /workspace); -r lists the whole tree.\n"
    "Columns: type and mode, size, modification time, path. Same as `sandq files ls`.\n"
    "\n"
    "Options:\n"
    "  -r, --recursive      the whole tree\n"
    "  --timeout D          how long to wait (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               the worker's listing: {\"path\",\"entries\":[{name,path,type,\n"
    "                       sizeBytes,mode,mtime}]}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq ls $SBX\n"
    "  sandq ls $SBX src -r --json | jq -r '.entries[].path'\n";

static const char rm_help[] =
    "usage: sandq rm SBX PATH [-r] [--json]\n"
    "\n"
    "Remove a file from the sandbox; -r removes a directory tree. A missing path\n"
    "fails with not_found. Same as `sandq files rm`.\n"
    "\n"
    "Options:\n"
    "  -r, --recursive      remove a directory and everything in it\n"
    "  --timeout D          how long to wait (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"sandboxId\",\"path\",\"removed\":true}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq rm $SBX old.log\n"
    "  sandq rm $SBX build -r\n";

enum { O_MODE = 256, O_MAX, O_OFFSET, O_LENGTH, O_TIMEOUT, O_REGION, O_JSON };

static const struct option opts[] = {
    {"mode", required_argument, 0, O_MODE},     {"max", required_argument, 0, O_MAX},
    {"offset", required_argument, 0, O_OFFSET}, {"length", required_argument, 0, O_LENGTH},
    {"recursive", no_argument, 0, 'r'},         {"timeout", required_argument, 0, O_TIMEOUT},
    {"region", required_argument, 0, O_REGION}, {"json", no_argument, 0, O_JSON},
    {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};

typedef struct files_args {
    const char *sub;     /* "put", "get", "ls", "rm" */
    const char *cmd;     /* "files put" … for messages */
    unsigned mode;
    uint64_t max;
    uint64_t offset, length; /* get: the range to copy; length 0 → to the end */
    bool recursive;
    int64_t timeout_ms;
    const char *region;
    bool json;
    char **pos;
    int npos;
} files_args;

/* ---- local I/O ---- */

static int read_local(const files_args *a, const char *local, char **out, size_t *len, int *rc)
{
    bool from_stdin = strcmp(local, "-") == 0;
    sq_autoclose int fd = from_stdin ? dup(STDIN_FILENO) : open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *rc = cli_io_fail(a->cmd, a->json, "%s: %s", local, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        *rc = cli_io_fail(a->cmd, a->json, "%s: %s", local, S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
        return -1;
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 20;
    size_t n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            *rc = cli_io_fail(a->cmd, a->json, "%s: out of memory", local);
            return -1;
        }
        if (n == cap) {
            if (cap > STDIN_PUT_MAX) {
                free(buf);
                *rc = cli_io_fail(a->cmd, a->json, "%s: larger than %zu GiB", local, STDIN_PUT_MAX >> 30);
                return -1;
            }
            char *p = realloc(buf, cap * 2);
            if (!p)
                free(buf);
            buf = p;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            *rc = cli_io_fail(a->cmd, a->json, "reading %s: %s", local, strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Write to a temporary file next to dest and rename it into place, so a failed
 * transfer never leaves a half-written file under the final name. */
static int write_local(const files_args *a, const char *dest, const char *remote_path, const void *data,
                       size_t len, char *final_path, size_t final_len)
{
    if (strcmp(dest, "-") == 0) {
        snprintf(final_path, final_len, "-");
        if (cli_write_all(STDOUT_FILENO, data, len) < 0)
            return cli_io_fail(a->cmd, a->json, "writing stdout: %s", strerror(errno));
        return 0;
    }
    struct stat st;
    if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", remote_path);
        snprintf(final_path, final_len, "%s/%s", dest, basename(tmp));
    } else {
        snprintf(final_path, final_len, "%s", dest);
    }
    char tmpname[PATH_MAX + 32];
    snprintf(tmpname, sizeof tmpname, "%s.sandq-XXXXXX", final_path);
    int fd = mkstemp(tmpname);
    if (fd < 0)
        return cli_io_fail(a->cmd, a->json, "%s: %s", final_path, strerror(errno));
    int w = cli_write_all(fd, data, len);
    int saved = errno;
    if (w == 0) {
        mode_t um = umask(0); /* mkstemp made it 0600; give it what open(2) would */
        umask(um);
        fchmod(fd, 0666 & ~um);
        if (close(fd) < 0) {
            w = -1;
            saved = errno;
        }
    } else {
        close(fd);
    }
    if (w < 0 || rename(tmpname, final_path) < 0) {
        if (w == 0)
            saved = errno;
        unlink(tmpname);
        return cli_io_fail(a->cmd, a->json, "writing %s: %s", final_path, strerror(saved));
    }
    return 0;
}

/* ---- subcommands ---- */

/* A path in --json output: the key as a string when it is UTF-8, else its
 * bytes as base64 under key_b64 (the worker's pathB64/nameB64 convention),
 * so a file named with other bytes still gets its line of output. */
static json_t *with_path(json_t *o, const char *key, const char *key_b64, const char *bytes)
{
    json_t *v = json_string(bytes);
    if (v) {
        json_object_set_new(o, key, v);
        return o;
    }
    size_t n = strlen(bytes);
    char *b64 = malloc(sq_b64_encoded_size(n));
    if (b64) {
        sq_b64_encode(bytes, n, b64);
        json_object_set_new(o, key_b64, json_string(b64));
        free(b64);
    }
    return o;
}

static int files_put(files_args *a, sandq_client_t *c)
{
    if (a->npos != 2)
        return cli_usage("files", "put needs LOCAL and SBX:PATH");
    char sbx[SANDQ_ID_MAX];
    const char *path;
    if (cli_remote("files", a->pos[1], sbx, &path) < 0)
        return CLI_EXIT_USAGE;
    int rc;
    char *data;
    size_t len;
    if (read_local(a, a->pos[0], &data, &len, &rc) < 0)
        return rc;
    sandq_write_opts wo = {.struct_size = sizeof wo, .mode = a->mode, .timeout_ms = a->timeout_ms};
    sandq_write_result res;
    sandq_error err;
    sandq_code code = sandq_files_write(c, sbx, path, data, len, &wo, &res, &err);
    free(data);
    if (code)
        return cli_fail(a->cmd, &err, a->json, CLI_EXIT_FAIL);
    if (a->json) {
        cli_print_json(with_path(json_pack("{s:s, s:I, s:s, s:i}", "sandboxId", sbx, "sizeBytes",
                                           (json_int_t)res.size_bytes, "sha256", res.sha256, "chunks", res.chunks),
                                 "path", "pathB64", path));
    } else if (cli_stdout_tty()) {
        char size[32];
        printf("%s → %s:%s (%s, sha256 %.12s)\n", a->pos[0], sbx, path,
               sqp_format_bytes((uint64_t)res.size_bytes, size, sizeof size), res.sha256);
    }
    return CLI_EXIT_OK;
}

static int files_get(files_args *a, sandq_client_t *c)
{
    if (a->npos != 2)
        return cli_usage("files", "get needs SBX:PATH and LOCAL (or - for stdout)");
    char sbx[SANDQ_ID_MAX];
    const char *path;
    if (cli_remote("files", a->pos[0], sbx, &path) < 0)
        return CLI_EXIT_USAGE;
    sandq_read_opts ro = {.struct_size = sizeof ro, .offset = (int64_t)a->offset, .length = (int64_t)a->length,
                          .max_bytes = (size_t)a->max, .timeout_ms = a->timeout_ms};
    void *data;
    size_t len;
    sandq_read_result res;
    sandq_error err;
    if (sandq_files_read(c, sbx, path, &ro, &data, &len, &res, &err))
        return cli_fail(a->cmd, &err, a->json, CLI_EXIT_FAIL);
    char final_path[PATH_MAX + 8];
    int rc = write_local(a, a->pos[1], path, data, len, final_path, sizeof final_path);
    sandq_free(data);
    if (rc)
        return rc;
    bool to_stdout = strcmp(a->pos[1], "-") == 0;
    if (a->json && !to_stdout) {
        json_t *o = json_pack("{s:s, s:I, s:s}", "sandboxId", sbx, "sizeBytes", (json_int_t)len, "sha256", res.sha256);
        cli_print_json(with_path(with_path(o, "path", "pathB64", path), "local", "localB64", final_path));
    } else if (!to_stdout && cli_stdout_tty()) {
        char size[32];
        printf("%s:%s → %s (%s, sha256 %.12s)\n", sbx, path, final_path,
               sqp_format_bytes(len, size, sizeof size), res.sha256);
    }
    return CLI_EXIT_OK;
}

/* ls and rm take "SBX [PATH]" or "SBX:PATH". */
static int sbx_and_path(files_args *a, char sbx[SANDQ_ID_MAX], const char **path, bool path_required)
{
    if (a->npos < 1 || a->npos > 2)
        return cli_usage("files", "%s needs SBX and %sPATH", a->sub, path_required ? "" : "optionally ");
    if (strchr(a->pos[0], ':') && a->npos == 1)
        return cli_remote("files", a->pos[0], sbx, path) < 0 ? CLI_EXIT_USAGE : 0;
    if (cli_sandbox_id("files", a->pos[0]) < 0)
        return CLI_EXIT_USAGE;
    snprintf(sbx, SANDQ_ID_MAX, "%s", a->pos[0]);
    *path = a->npos == 2 ? a->pos[1] : NULL;
    if (path_required && !*path)
        return cli_usage("files", "%s needs a PATH", a->sub);
    return 0;
}

static void print_entry(const sandq_file_entry *e)
{
    char size[32], when[32];
    time_t t = (time_t)(e->mtime / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    bool dir = strcmp(e->type, "dir") == 0;
    if (dir)
        snprintf(size, sizeof size, "-");
    else
        sqp_format_bytes((uint64_t)e->size_bytes, size, sizeof size);
    printf("%04o  %10s  %s  %s%s\n", e->mode & 07777, size, when, e->path, dir ? "/" : "");
}

static int files_ls(files_args *a, sandq_client_t *c)
{
    char sbx[SANDQ_ID_MAX];
    const char *path;
    int rc = sbx_and_path(a, sbx, &path, false);
    if (rc)
        return rc;
    sandq_file_list *l;
    sandq_error err;
    if (sandq_files_list(c, sbx, path, a->recursive, a->timeout_ms, &l, &err))
        return cli_fail(a->cmd, &err, a->json, CLI_EXIT_FAIL);
    if (a->json) {
        json_error_t jerr;
        cli_print_json(json_loads(l->json, 0, &jerr));
    } else if (cli_stdout_tty()) {
        for (size_t i = 0; i < l->count; i++)
            print_entry(&l->entries[i]);
    } else {
        for (size_t i = 0; i < l->count; i++)
            printf("%s%s\n", l->entries[i].path, strcmp(l->entries[i].type, "dir") == 0 ? "/" : "");
    }
    sandq_file_list_free(l);
    return CLI_EXIT_OK;
}

static int files_rm(files_args *a, sandq_client_t *c)
{
    char sbx[SANDQ_ID_MAX];
    const char *path;
    int rc = sbx_and_path(a, sbx, &path, true);
    if (rc)
        return rc;
    sandq_error err;
    if (sandq_files_remove(c, sbx, path, a->recursive, a->timeout_ms, &err))
        return cli_fail(a->cmd, &err, a->json, CLI_EXIT_FAIL);
    if (a->json)
        cli_print_json(with_path(json_pack("{s:s, s:b}", "sandboxId", sbx, "removed", 1), "path", "pathB64", path));
    else if (cli_stdout_tty())
        printf("removed %s:%s\n", sbx, path);
    return CLI_EXIT_OK;
}

int cmd_files(int argc, char **argv)
{
    /* cp, ls and rm are top-level aliases of files put|get, ls and rm */
    const char *alias = strcmp(argv[0], "files") == 0 ? NULL : argv[0];
    const char *help_text = !alias                     ? help
                            : strcmp(alias, "cp") == 0 ? cp_help
                            : strcmp(alias, "ls") == 0 ? ls_help
                                                       : rm_help;
    files_args a = {.max = 256ULL << 20};
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":hr", opts, NULL)) != -1) {
        switch (ch) {
        case O_MODE: {
            char *end;
            unsigned long m = strtoul(optarg, &end, 8);
            if (*end || end == optarg || m > 07777)
                return cli_usage("files", "bad --mode value \"%s\": expected octal like 0644", optarg);
            a.mode = (unsigned)m;
            break;
        }
        case O_MAX:
            if (sqp_parse_size_bytes(optarg, 1, &a.max) < 0 || a.max == 0)
                return cli_usage("files", "bad --max value \"%s\": expected a size like 512M", optarg);
            break;
        case O_OFFSET:
        case O_LENGTH: {
            uint64_t *v = ch == O_OFFSET ? &a.offset : &a.length;
            if (sqp_parse_size_bytes(optarg, 1, v) < 0 || *v > (1ULL << 50) || (ch == O_LENGTH && *v == 0))
                return cli_usage("files", "bad --%s value \"%s\": expected a size like 4096 or 2G",
                                 ch == O_OFFSET ? "offset" : "length", optarg);
            break;
        }
        case 'r': a.recursive = true; break;
        case O_TIMEOUT:
            if (cli_duration("files", "timeout", optarg, &a.timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_REGION: a.region = optarg; break;
        case O_JSON: a.json = true; break;
        case 'h': fputs(help_text, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(alias ? alias : "files", ch, argv);
        }
    }
    if (alias) {
        a.pos = &argv[optind];
        a.npos = argc - optind;
        a.cmd = alias;
        int (*afn)(files_args *, sandq_client_t *);
        if (strcmp(alias, "cp") == 0) {
            if (a.npos != 2)
                return cli_usage(alias, a.npos < 2 ? "needs a source and a destination" : "too many arguments");
            char id[SANDQ_ID_MAX];
            const char *path;
            bool src_remote = sqp_split_remote(a.pos[0], id, &path);
            bool dst_remote = sqp_split_remote(a.pos[1], id, &path);
            if (src_remote == dst_remote)
                return cli_usage(alias, src_remote ? "both arguments are SBX:PATH; one must be local"
                                                   : "one argument must be SBX:PATH (e.g. sbx_01JD…:/workspace/f)");
            a.sub = src_remote ? "get" : "put";
            afn = src_remote ? files_get : files_put;
        } else if (strcmp(alias, "ls") == 0) {
            a.sub = "ls";
            afn = files_ls;
        } else {
            a.sub = "rm";
            afn = files_rm;
        }
        int arc;
        sandq_client_t *ac = cli_client(a.cmd, a.region, a.json, &arc);
        if (!ac)
            return arc;
        arc = afn(&a, ac);
        sandq_client_free(ac);
        return arc;
    }
    if (optind >= argc)
        return cli_usage("files", "missing subcommand: put, get, ls or rm");
    a.sub = argv[optind];
    a.pos = &argv[optind + 1];
    a.npos = argc - optind - 1;
    int (*fn)(files_args *, sandq_client_t *) = NULL;
    if (strcmp(a.sub, "put") == 0) {
        fn = files_put;
        a.cmd = "files put";
    } else if (strcmp(a.sub, "get") == 0) {
        fn = files_get;
        a.cmd = "files get";
    } else if (strcmp(a.sub, "ls") == 0) {
        fn = files_ls;
        a.cmd = "files ls";
    } else if (strcmp(a.sub, "rm") == 0) {
        fn = files_rm;
        a.cmd = "files rm";
    } else {
        return cli_usage("files", "unknown subcommand \"%s\": expected put, get, ls or rm", a.sub);
    }
    int rc;
    sandq_client_t *c = cli_client(a.cmd, a.region, a.json, &rc);
    if (!c)
        return rc;
    rc = fn(&a, c);
    sandq_client_free(c);
    return rc;
}
