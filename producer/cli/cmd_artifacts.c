/* cmd_artifacts.c — `sandq artifacts ls SBX`, `sandq artifacts get ART OUT` and
 * `sandq artifacts url ART`: the files tasks exported (docs/artifacts.md). The list
 * comes from PostgreSQL (SANDQ_DATABASE_URL); a download URL is signed here with the
 * workers' settings (SANDQ_ARTIFACT_URL_KEY or SANDQ_WEBHOOK_SECRET_KEY and
 * SANDQ_ARTIFACT_URL_BASE for a directory store, SANDQ_S3_* for S3), as
 * `sandq webhooks` seals secrets with the workers' key. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char help[] =
    "usage: sandq artifacts ls SBX [--json]\n"
    "       sandq artifacts get ART OUT [--json]\n"
    "       sandq artifacts url ART [--ttl D] [--json]\n"
    "\n"
    "The files a sandbox's tasks exported (`outputs` globs, see docs/artifacts.md).\n"
    "ls lists them from PostgreSQL (SANDQ_DATABASE_URL). get downloads one into OUT\n"
    "and checks its size and sha256; url prints a fresh signed download URL. Both sign\n"
    "the URL as the workers do, so they need the workers' artifact settings: for a\n"
    "directory store SANDQ_ARTIFACT_URL_KEY (or SANDQ_WEBHOOK_SECRET_KEY) and\n"
    "SANDQ_ARTIFACT_URL_BASE (a worker's HTTP endpoint); for S3 SANDQ_S3_ENDPOINT,\n"
    "SANDQ_S3_REGION, SANDQ_S3_ACCESS_KEY_ID and SANDQ_S3_SECRET_ACCESS_KEY.\n"
    "\n"
    "Options:\n"
    "  --ttl D              how long the URL lives (url, get; default 1h, at most 7d)\n"
    "  --json               ls: one JSON object per artifact per line; get/url: one object\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: 0 done; 1 not found, refused, integrity or I/O error; 2 usage.\n"
    "\n"
    "Examples:\n"
    "  sandq artifacts ls $SBX\n"
    "  sandq artifacts get art_01M8E51QDZ9TWWX26B5QAEG21S ./report.pdf\n"
    "  curl -o r.pdf \"$(sandq artifacts url art_01M8E51QDZ9TWWX26B5QAEG21S)\"\n";

enum { O_JSON = 256, O_TTL };
static const struct option opts[] = {
    {"json", no_argument, 0, O_JSON}, {"ttl", required_argument, 0, O_TTL}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static json_t *art_json(const sandq_artifact *a)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:I, s:s, s:s, s:I}", "artifactId", a->artifact_id, "sandboxId",
                     a->sandbox_id, "taskId", a->task_id[0] ? a->task_id : NULL, "path", a->path, "sizeBytes",
                     (json_int_t)a->size_bytes, "sha256", a->sha256, "contentType", a->content_type, "createdAt",
                     (json_int_t)a->created_at);
}

static int do_ls(sandq_client_t *c, const char *cmd, const char *sbx, bool json)
{
    sandq_artifact *v;
    size_t n;
    sandq_error err;
    if (sandq_artifacts_list(c, sbx, &v, &n, &err))
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    for (size_t i = 0; i < n; i++) {
        if (json) {
            cli_print_json(art_json(&v[i]));
            continue;
        }
        if (i == 0)
            printf("%-30s  %12s  %-30s  %s\n", "ID", "SIZE", "TASK", "PATH");
        printf("%-30s  %12lld  %-30s  %s\n", v[i].artifact_id, (long long)v[i].size_bytes,
               v[i].task_id[0] ? v[i].task_id : "-", v[i].path);
    }
    if (!json && n == 0 && cli_stdout_tty())
        printf("no artifacts\n");
    sandq_free(v);
    return CLI_EXIT_OK;
}

int cmd_artifacts(int argc, char **argv)
{
    const char *cmd = "artifacts";
    bool json = false;
    int64_t ttl_ms = 0;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_JSON: json = true; break;
        case O_TTL:
            if (cli_duration(cmd, "ttl", optarg, &ttl_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    int nargs = argc - optind;
    const char *sub = nargs > 0 ? argv[optind] : NULL;
    if (!sub)
        return cli_usage(cmd, "missing ls, get or url");
    bool ls = strcmp(sub, "ls") == 0, get = strcmp(sub, "get") == 0, url = strcmp(sub, "url") == 0;
    if (!ls && !get && !url)
        return cli_usage(cmd, "unknown subcommand \"%s\" (ls, get, url)", sub);
    int want = get ? 3 : 2;
    if (nargs != want)
        return cli_usage(cmd, nargs < want ? "missing %s" : "too many arguments", ls ? "sandbox id" : get && nargs == 2 ? "OUT path" : "artifact id");
    if (ls && cli_sandbox_id(cmd, argv[optind + 1]) < 0)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        return rc;
    if (ls) {
        rc = do_ls(c, cmd, argv[optind + 1], json);
        sandq_client_free(c);
        return rc;
    }
    const char *art = argv[optind + 1];
    sandq_artifact_opts o = SANDQ_ARTIFACT_OPTS_INIT;
    o.ttl_s = ttl_ms / 1000;
    sandq_error err;
    sandq_code code;
    if (url) {
        char buf[8192];
        code = sandq_artifact_url(c, art, &o, buf, sizeof buf, &err);
        sandq_client_free(c);
        if (code)
            return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
        if (json)
            cli_print_json(json_pack("{s:s, s:s}", "artifactId", art, "url", buf));
        else
            printf("%s\n", buf);
        return CLI_EXIT_OK;
    }
    const char *out = argv[optind + 2];
    code = sandq_artifact_get(c, art, &o, out, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json)
        cli_print_json(json_pack("{s:s, s:s}", "artifactId", art, "path", out));
    return CLI_EXIT_OK;
}
