/* cmd_kill.c — `sandq kill SBX`: end a sandbox and wait until it has ended. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: sandq kill SBX [options]\n"
    "\n"
    "End sandbox SBX: its processes are killed and its workspace removed. Waits for\n"
    "the sandbox.ended event.\n"
    "\n"
    "Options:\n"
    "  --timeout D          how long to wait (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"id\",\"state\":\"ended\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq kill sbx_01JDQ3V8Y6J7Z8ZK2W6Q0X1ABC\n"
    "  sandq kill $SBX --json\n";

enum { O_TIMEOUT = 256, O_REGION, O_JSON };

static const struct option opts[] = {{"timeout", required_argument, 0, O_TIMEOUT},
                                     {"region", required_argument, 0, O_REGION},
                                     {"json", no_argument, 0, O_JSON},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

int cmd_kill(int argc, char **argv)
{
    const char *cmd = "kill";
    int64_t timeout_ms = 0;
    const char *region = NULL;
    bool json = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_REGION: region = optarg; break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage(cmd, argc - optind < 1 ? "missing sandbox id" : "too many arguments");
    const char *sbx = argv[optind];
    if (cli_sandbox_id(cmd, sbx) < 0)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, region, json, &rc);
    if (!c)
        return rc;
    sandq_error err;
    sandq_code code = sandq_kill(c, sbx, timeout_ms, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json)
        cli_print_json(json_pack("{s:s, s:s}", "id", sbx, "state", "ended"));
    else if (cli_stdout_tty())
        printf("%s ended\n", sbx);
    return CLI_EXIT_OK;
}
