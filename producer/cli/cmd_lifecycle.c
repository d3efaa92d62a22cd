/* cmd_lifecycle.c — `sandq kill|pause|resume SBX` and `sandq set-timeout SBX D`:
 * one lifecycle request each, waiting for the state it leads to (ended, paused,
 * ready) or, for set-timeout, for a rejection within a short window. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char kill_help[] =
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

static const char pause_help[] =
    "usage: sandq pause SBX [--persist] [options]\n"
    "\n"
    "Pause sandbox SBX (cgroup freezer): its processes stop, paused time does not\n"
    "count toward its lifetime. Waits for sandbox.paused. Only a ready or active\n"
    "sandbox can be paused (else invalid_state).\n"
    "\n"
    "Options:\n"
    "  --persist            checkpoint the workspace and end the processes, so the\n"
    "                       sandbox can resume on any worker\n"
    "  --timeout D          how long to wait (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"id\",\"state\":\"paused\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq pause $SBX\n"
    "  sandq pause $SBX --persist --json\n";

static const char resume_help[] =
    "usage: sandq resume SBX [options]\n"
    "\n"
    "Resume a paused sandbox; waits for sandbox.resumed (it is ready again).\n"
    "\n"
    "Options:\n"
    "  --timeout D          how long to wait (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"id\",\"state\",\"workerId\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq resume $SBX\n";

static const char set_timeout_help[] =
    "usage: sandq set-timeout SBX DURATION [options]\n"
    "\n"
    "Give the sandbox DURATION (30m, 2h) more lifetime from now; paused time does not\n"
    "count. The protocol has no event acknowledging this request: the command\n"
    "succeeds once Kafka has it and the worker did not reject it within --wait.\n"
    "\n"
    "Options:\n"
    "  --wait D             how long to watch for a rejection (default 2s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"id\",\"timeoutMs\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq set-timeout $SBX 2h\n";

enum { O_TIMEOUT = 256, O_REGION, O_JSON, O_PERSIST, O_WAIT };

static const struct option opts[] = {{"timeout", required_argument, 0, O_TIMEOUT},
                                     {"wait", required_argument, 0, O_WAIT},
                                     {"region", required_argument, 0, O_REGION},
                                     {"persist", no_argument, 0, O_PERSIST},
                                     {"json", no_argument, 0, O_JSON},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

int cmd_lifecycle(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool is_kill = strcmp(cmd, "kill") == 0, is_pause = strcmp(cmd, "pause") == 0,
         is_resume = strcmp(cmd, "resume") == 0, is_set = strcmp(cmd, "set-timeout") == 0;
    const char *help = is_kill ? kill_help : is_pause ? pause_help : is_resume ? resume_help : set_timeout_help;
    int64_t timeout_ms = 0, wait_ms = 0;
    const char *region = NULL;
    bool json = false, persist = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_TIMEOUT:
            if (is_set)
                return cli_usage(cmd, "unknown option --timeout (the new lifetime is an argument)");
            if (cli_duration(cmd, "timeout", optarg, &timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_WAIT:
            if (!is_set)
                return cli_usage(cmd, "unknown option --wait");
            if (cli_duration(cmd, "wait", optarg, &wait_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_PERSIST:
            if (!is_pause)
                return cli_usage(cmd, "unknown option --persist");
            persist = true;
            break;
        case O_REGION: region = optarg; break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    int want = is_set ? 2 : 1;
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, want, "missing the new lifetime (e.g. 30m)");
    if (!sbx)
        return CLI_EXIT_USAGE;
    int64_t lifetime_ms = 0;
    if (is_set && cli_duration(cmd, "DURATION", argv[optind + 1], &lifetime_ms) < 0)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, region, json, &rc);
    if (!c)
        return rc;
    sandq_error err;
    sandq_sandbox sb = {0};
    sandq_code code;
    const char *state;
    if (is_kill) {
        code = sandq_kill(c, sbx, timeout_ms, &err);
        state = "ended";
    } else if (is_pause) {
        code = sandq_pause(c, sbx, persist, timeout_ms, &err);
        state = "paused";
    } else if (is_resume) {
        code = sandq_resume(c, sbx, timeout_ms, &sb, &err);
        state = sb.state[0] ? sb.state : "ready";
    } else {
        code = sandq_set_timeout(c, sbx, lifetime_ms, wait_ms, &err);
        state = NULL;
    }
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json) {
        json_t *o = json_pack("{s:s}", "id", sbx);
        if (state)
            json_object_set_new(o, "state", json_string(state));
        if (is_set)
            json_object_set_new(o, "timeoutMs", json_integer(lifetime_ms));
        if (sb.worker_id[0])
            json_object_set_new(o, "workerId", json_string(sb.worker_id));
        cli_print_json(o);
    } else if (cli_stdout_tty()) {
        if (state)
            printf("%s %s\n", sbx, state);
        else
            printf("%s lifetime set to %s\n", sbx, argv[optind + 1]);
    }
    return CLI_EXIT_OK;
}
