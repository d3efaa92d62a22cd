/* cmd_events.c — `sandq events`: print sandbox events, one per line: the raw JSON
 * envelope with --json, else a short readable line. Without --follow it prints what
 * is already there and exits. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "units.h"

static const char help[] =
    "usage: sandq events [--sandbox SBX] [--from-beginning] [--follow] [--json]\n"
    "\n"
    "Print events from the events topic: one sandbox's (reading only its partition)\n"
    "or every sandbox's. Starts at the end of the topic (only new events) unless\n"
    "--from-beginning. Without --follow, exits once it has caught up.\n"
    "\n"
    "Options:\n"
    "  --sandbox SBX        only this sandbox's events\n"
    "  --from-beginning     start at the oldest retained event\n"
    "  -f, --follow         keep printing new events until Ctrl-C (exit code 0)\n"
    "  --json               one raw event envelope (JSON) per line\n"
    "  -h, --help           this help\n"
    "\n"
    "Readable lines: TIME SANDBOX #SEQ TYPE [TASK] DETAILS\n"
    "\n"
    "Examples:\n"
    "  sandq events --follow\n"
    "  sandq events --sandbox $SBX --from-beginning\n"
    "  sandq events --json --follow | jq -c 'select(.type==\"sandbox.failed\")'\n";

enum { O_SANDBOX = 256, O_BEGIN, O_JSON };

static const struct option opts[] = {{"sandbox", required_argument, 0, O_SANDBOX},
                                     {"from-beginning", no_argument, 0, O_BEGIN},
                                     {"follow", no_argument, 0, 'f'},
                                     {"json", no_argument, 0, O_JSON},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

/* The part of an event worth a glance: state, error, exit code, output size. */
static void details(const sandq_event *ev, char *out, size_t n)
{
    json_error_t jerr;
    json_t *d = json_loads(ev->data_json, 0, &jerr);
    const char *code = json_string_value(json_object_get(d, "code"));
    const char *msg = json_string_value(json_object_get(d, "message"));
    const char *reason = json_string_value(json_object_get(d, "reason"));
    const char *stream = json_string_value(json_object_get(d, "stream"));
    const json_t *exit_code = json_object_get(d, "exitCode");
    out[0] = '\0';
    if (*ev->state)
        snprintf(out, n, "%s%s%s", ev->state, reason ? " reason=" : "", reason ? reason : "");
    else if (code)
        snprintf(out, n, "%s: %s", code, msg ? msg : "");
    else if (stream) {
        const json_t *text = json_object_get(d, "data");
        const json_t *b64 = json_object_get(d, "dataB64");
        size_t len = json_is_string(text) ? json_string_length(text) : json_string_length(b64) / 4 * 3;
        char size[32];
        snprintf(out, n, "%s %s", stream, sqp_format_bytes(len, size, sizeof size));
    } else if (json_is_integer(exit_code))
        snprintf(out, n, "exitCode=%lld", (long long)json_integer_value(exit_code));
    else if (json_is_string(json_object_get(d, "kind")))
        snprintf(out, n, "%s", json_string_value(json_object_get(d, "kind")));
    if (msg && !code && *ev->state && strlen(out) + 4 < n) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, " (%s)", msg);
    }
    json_decref(d);
}

static void print_line(const sandq_event *ev)
{
    time_t t = (time_t)(ev->at / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char when[16], det[384];
    strftime(when, sizeof when, "%H:%M:%S", &tm);
    details(ev, det, sizeof det);
    printf("%s.%03lld %s #%lld %s%s%s%s%s\n", when, (long long)(ev->at % 1000), *ev->sandbox_id ? ev->sandbox_id : "-",
           (long long)ev->seq, ev->type, *ev->task_id ? " " : "", ev->task_id, *det ? " " : "", det);
}

int cmd_events(int argc, char **argv)
{
    const char *cmd = "events";
    const char *sbx = NULL;
    bool from_beginning = false, follow = false, json = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":hf", opts, NULL)) != -1) {
        switch (ch) {
        case O_SANDBOX:
            if (cli_sandbox_id(cmd, optarg) < 0)
                return CLI_EXIT_USAGE;
            sbx = optarg;
            break;
        case O_BEGIN: from_beginning = true; break;
        case 'f': follow = true; break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
    int rc;
    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        return rc;
    sandq_sub_t *sub;
    sandq_error err;
    if (sandq_events_open(c, sbx, from_beginning, &sub, &err)) {
        rc = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
        sandq_client_free(c);
        return rc;
    }
    cli_catch_interrupts();
    rc = CLI_EXIT_OK;
    while (!cli_interrupted) {
        sandq_event ev;
        sandq_code code = sandq_events_next(sub, 200, &ev, &err);
        if (code == SANDQ_E_WAIT_TIMEOUT) {
            if (!follow && sandq_events_caught_up(sub))
                break;
            continue;
        }
        if (code) {
            rc = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
            break;
        }
        if (json)
            printf("%s\n", ev.json);
        else
            print_line(&ev);
        fflush(stdout);
    }
    sandq_events_close(sub);
    sandq_client_free(c);
    return rc;
}
