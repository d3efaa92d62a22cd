/* cmd_doc.c — `sandq doc convert SBX IN --to FMT`: a task.document on a sandbox
 * created with documents (`sandq launch --documents`), through
 * sandq_document_convert. The output stays in the sandbox's workspace; --out
 * also fetches it to a local file, checked against the sha256 the worker
 * reported. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: sandq doc convert SBX IN --to FORMAT [--outdir DIR] [--out LOCAL] [options]\n"
    "\n"
    "Convert the workspace file IN with LibreOffice inside the sandbox (which must have\n"
    "been launched with --documents). IN's extension names its format; the output is\n"
    "written beside it (or into --outdir) with FORMAT's extension, and its path in the\n"
    "sandbox is printed.\n"
    "\n"
    "  docx -> pdf, odt        odt -> pdf, docx        html -> pdf, odt, docx\n"
    "  md -> pdf (as text)     xlsx -> pdf, ods, csv   ods -> pdf, xlsx, csv\n"
    "  csv -> pdf, ods, xlsx   pptx -> pdf             pdf -> txt (pdftotext)\n"
    "\n"
    "Options:\n"
    "  --to FORMAT          the target format (required)\n"
    "  --outdir DIR         directory in /workspace for the output (made if missing)\n"
    "  --out LOCAL          also copy the output here (- for stdout)\n"
    "  --max SIZE           --out: refuse outputs larger than SIZE (default 256M)\n"
    "  --timeout D          the conversion's time limit (default: the worker's, 120s)\n"
    "  --json               print the result: {\"output\",\"from\",\"format\",\"sizeBytes\",\n"
    "                       \"sha256\",\"durationMs\"} (and \"local\" with --out)\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0, 1 when the conversion failed (the reason on stderr: a damaged input\n"
    "is invalid_request), 2 on a bad command line, 124 on a timeout.\n"
    "\n"
    "Examples:\n"
    "  SBX=$(sandq launch --documents)\n"
    "  sandq cp ./report.docx $SBX:report.docx\n"
    "  sandq doc convert $SBX report.docx --to pdf --out ./report.pdf\n"
    "  sandq doc convert $SBX data/sales.xlsx --to ods --outdir converted\n";

enum { O_TO = 256, O_OUTDIR, O_OUT, O_MAX, O_TIMEOUT, O_JSON };

static const struct option opts[] = {
    {"to", required_argument, 0, O_TO},       {"outdir", required_argument, 0, O_OUTDIR},
    {"out", required_argument, 0, O_OUT},     {"max", required_argument, 0, O_MAX},
    {"timeout", required_argument, 0, O_TIMEOUT}, {"json", no_argument, 0, O_JSON},
    {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};

/* Copy the output out of the sandbox to `local`, checked against the sha256
 * the conversion reported. */
static int fetch(sandq_client_t *c, const char *cmd, const char *sbx, const sandq_document_result *r,
                 const char *local, size_t max, bool json)
{
    sandq_read_opts ro = SANDQ_READ_OPTS_INIT;
    ro.max_bytes = max;
    void *data;
    size_t len;
    sandq_read_result res;
    sandq_error err;
    if (sandq_files_read(c, sbx, r->output, &ro, &data, &len, &res, &err))
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (strcmp(res.sha256, r->sha256) != 0 || (int64_t)len != r->size_bytes) {
        sandq_free(data);
        return cli_io_fail(cmd, json, "%s changed in the sandbox after the conversion (sha256 %s, converted %s)",
                           r->output, res.sha256, r->sha256);
    }
    int fd = strcmp(local, "-") == 0 ? STDOUT_FILENO : open(local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || cli_write_all(fd, data, len) < 0 ? -1 : 0;
    int saved = errno;
    if (fd > STDOUT_FILENO && close(fd) < 0 && rc == 0)
        rc = -1, saved = errno;
    sandq_free(data);
    if (rc < 0)
        return cli_io_fail(cmd, json, "%s: %s", local, strerror(saved));
    return CLI_EXIT_OK;
}

int cmd_doc(int argc, char **argv)
{
    const char *cmd = "doc convert";
    const char *to = NULL, *outdir = NULL, *out = NULL;
    int64_t timeout_ms = 0, max_mb = 256;
    bool json = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_TO: to = optarg; break;
        case O_OUTDIR: outdir = optarg; break;
        case O_OUT: out = optarg; break;
        case O_MAX:
            if (cli_size_mb(cmd, "max", optarg, &max_mb) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    int npos = argc - optind;
    char **pos = argv + optind;
    if (npos < 1 || strcmp(pos[0], "convert") != 0)
        return cli_usage("doc", "the only subcommand is convert: sandq doc convert SBX IN --to FORMAT");
    if (npos != 3)
        return cli_usage(cmd, "needs SBX and IN");
    if (!to)
        return cli_usage(cmd, "needs --to FORMAT (pdf, odt, docx, ods, xlsx, csv, txt)");
    if (cli_sandbox_id(cmd, pos[1]) < 0)
        return CLI_EXIT_USAGE;
    if (out && strcmp(out, "-") == 0 && json)
        return cli_usage(cmd, "--out - and --json both want stdout");

    int exit_code;
    sandq_client_t *c = cli_client(cmd, NULL, json, &exit_code);
    if (!c)
        return exit_code;
    sandq_document_opts o = SANDQ_DOCUMENT_OPTS_INIT;
    o.outdir = outdir;
    o.timeout_ms = timeout_ms;
    sandq_document_result r;
    sandq_error err;
    if (sandq_document_convert(c, pos[1], pos[2], to, &o, &r, &err)) {
        exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    } else {
        exit_code = out ? fetch(c, cmd, pos[1], &r, out, (size_t)max_mb << 20, json) : CLI_EXIT_OK;
        if (exit_code == CLI_EXIT_OK && json) {
            json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "output", r.output, "from", r.from, "format",
                                  r.format, "sizeBytes", (json_int_t)r.size_bytes, "sha256", r.sha256, "durationMs",
                                  (json_int_t)r.duration_ms);
            if (out)
                json_object_set_new(j, "local", json_string(out));
            cli_print_json(j);
        } else if (exit_code == CLI_EXIT_OK && !(out && strcmp(out, "-") == 0)) {
            printf("%s\n", r.output);
        }
    }
    sandq_client_free(c);
    return exit_code;
}
