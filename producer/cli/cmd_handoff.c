/* cmd_handoff.c — `sandq handoff request|accept|complete|cancel|ls SBX …`: a
 * person takes over a sandbox's browser and hands it back (docs/handoff.md);
 * and `sandq preview SBX [--control]`, the URL they watch and act through.
 * request/accept/complete/cancel publish one handoff.* request and wait for its
 * sandbox.handoff.* event; ls reads the `handoffs` rows from PostgreSQL. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char handoff_help[] =
    "usage: sandq handoff request SBX --reason R --message TEXT [--resume-prompt TEXT]\n"
    "                            [--expires D] [--id HND] [--dashboard]\n"
    "       sandq handoff accept SBX HND --controller WHO [--shared]\n"
    "       sandq handoff complete SBX HND [--note TEXT]\n"
    "       sandq handoff cancel SBX HND\n"
    "       sandq handoff ls SBX\n"
    "\n"
    "Hand a sandbox's browser to a person and back. request opens a hand-off (pending;\n"
    "its sandbox.handoff.requested event carries the viewer URL when the worker serves\n"
    "previews); accept records who took over and gives them control (controlMode human,\n"
    "or shared with --shared); complete returns control to the agent (ai); cancel\n"
    "withdraws it. A hand-off not completed in time (default 15m) expires. ls lists the\n"
    "sandbox's hand-offs from PostgreSQL (SANDQ_DATABASE_URL), oldest first.\n"
    "\n"
    "Options:\n"
    "  --reason R           mfa, captcha, approval, login_failed, ambiguous_ui,\n"
    "                       file_download or custom\n"
    "  --message TEXT       what the person should do\n"
    "  --resume-prompt TEXT what the agent does once control returns\n"
    "  --expires D          how long it may stay open (default 15m)\n"
    "  --id HND             the hand-off id (default: a new hnd_ id)\n"
    "  --dashboard          requestedBy dashboard (default sdk)\n"
    "  --controller WHO     who takes over (accept)\n"
    "  --shared             accept with controlMode shared (the agent may act too)\n"
    "  --note TEXT          the person's note for the agent (complete)\n"
    "  --timeout D          how long to wait for the worker's answer (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print the hand-off as its event carried it (ls: a JSON array)\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: 0 done; 1 rejected (invalid_state, handoff_not_found …) or failed;\n"
    "124 no answer in time.\n"
    "\n"
    "Examples:\n"
    "  HND=$(sandq handoff request $SBX --reason mfa --message 'enter the SMS code')\n"
    "  sandq handoff accept $SBX $HND --controller ada@example.com\n"
    "  sandq handoff complete $SBX $HND --note 'code entered'\n"
    "  sandq handoff ls $SBX --json | jq -r '.[].status'\n";

enum {
    O_REASON = 256, O_MESSAGE, O_RESUME, O_EXPIRES, O_ID, O_DASHBOARD, O_CONTROLLER, O_SHARED, O_NOTE,
    O_TIMEOUT, O_REGION, O_JSON
};

static const struct option opts[] = {{"reason", required_argument, 0, O_REASON},
                                     {"message", required_argument, 0, O_MESSAGE},
                                     {"resume-prompt", required_argument, 0, O_RESUME},
                                     {"expires", required_argument, 0, O_EXPIRES},
                                     {"id", required_argument, 0, O_ID},
                                     {"dashboard", no_argument, 0, O_DASHBOARD},
                                     {"controller", required_argument, 0, O_CONTROLLER},
                                     {"shared", no_argument, 0, O_SHARED},
                                     {"note", required_argument, 0, O_NOTE},
                                     {"timeout", required_argument, 0, O_TIMEOUT},
                                     {"region", required_argument, 0, O_REGION},
                                     {"json", no_argument, 0, O_JSON},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

static void print_table(const json_t *list)
{
    size_t i;
    const json_t *h;
    printf("%-30s %-10s %-13s %-9s %-7s %s\n", "HANDOFF", "STATUS", "REASON", "BY", "CONTROL", "CONTROLLER");
    json_array_foreach(list, i, h)
    {
        const char *ctl = json_string_value(json_object_get(h, "controller"));
        printf("%-30s %-10s %-13s %-9s %-7s %s\n", json_string_value(json_object_get(h, "handoffId")),
               json_string_value(json_object_get(h, "status")), json_string_value(json_object_get(h, "reason")),
               json_string_value(json_object_get(h, "requestedBy")),
               json_string_value(json_object_get(h, "controlMode")), ctl ? ctl : "-");
    }
}

int cmd_handoff(int argc, char **argv)
{
    const char *cmd = "handoff";
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(handoff_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    bool is_req = strcmp(sub, "request") == 0, is_acc = strcmp(sub, "accept") == 0,
         is_comp = strcmp(sub, "complete") == 0, is_cancel = strcmp(sub, "cancel") == 0, is_ls = strcmp(sub, "ls") == 0;
    if (!is_req && !is_acc && !is_comp && !is_cancel && !is_ls)
        return cli_usage(cmd, "unknown subcommand \"%s\" (request, accept, complete, cancel, ls)", sub);
    sandq_handoff_opts ho = SANDQ_HANDOFF_OPTS_INIT;
    const char *reason = NULL, *message = NULL, *id = NULL, *controller = NULL, *region = NULL;
    bool json = false;
    argc--;
    argv++;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_REASON: reason = optarg; break;
        case O_MESSAGE: message = optarg; break;
        case O_RESUME: ho.resume_prompt = optarg; break;
        case O_EXPIRES:
            if (cli_duration(cmd, "expires", optarg, &ho.expires_in_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_ID: id = optarg; break;
        case O_DASHBOARD: ho.requested_by = "dashboard"; break;
        case O_CONTROLLER: controller = optarg; break;
        case O_SHARED: ho.control_mode = "shared"; break;
        case O_NOTE: ho.note = optarg; break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &ho.wait_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_REGION: region = optarg; break;
        case O_JSON: json = true; break;
        case 'h': fputs(handoff_help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    int want = is_req || is_ls ? 1 : 2;
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, want, "missing the hand-off id (hnd_…)");
    if (!sbx)
        return CLI_EXIT_USAGE;
    const char *hnd = want == 2 ? argv[optind + 1] : id;
    if (is_req && (!reason || !message))
        return cli_usage(cmd, "request needs --reason and --message");
    if (is_acc && !controller)
        return cli_usage(cmd, "accept needs --controller");
    int rc;
    sandq_client_t *c = cli_client(cmd, region, json, &rc);
    if (!c)
        return rc;
    sandq_error err;
    char *out = NULL;
    sandq_code code;
    if (is_req)
        code = sandq_handoff_request(c, sbx, hnd, reason, message, &ho, &out, &err);
    else if (is_acc)
        code = sandq_handoff_accept(c, sbx, hnd, controller, &ho, &out, &err);
    else if (is_comp)
        code = sandq_handoff_complete(c, sbx, hnd, &ho, &out, &err);
    else if (is_cancel)
        code = sandq_handoff_cancel(c, sbx, hnd, &ho, &out, &err);
    else
        code = sandq_handoff_list(c, sbx, &out, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    json_t *o = json_loads(out, 0, NULL);
    sandq_free(out);
    if (!o)
        return cli_io_fail(cmd, json, "the worker's answer is not JSON");
    if (json) {
        cli_print_json(o);
        return CLI_EXIT_OK;
    }
    if (is_ls)
        print_table(o);
    else if (is_req)
        printf("%s\n", json_string_value(json_object_get(o, "handoffId")));
    else
        printf("%s %s, controlMode %s\n", hnd, json_string_value(json_object_get(o, "status")),
               json_string_value(json_object_get(o, "controlMode")));
    json_decref(o);
    return CLI_EXIT_OK;
}

static const char preview_help[] =
    "usage: sandq preview SBX [--control] [--ttl D] [--json]\n"
    "\n"
    "Print a signed, expiring URL of the sandbox's live browser preview, served by the\n"
    "worker that runs it (its SANDQ_PUBLIC_URL). Open it in any browser: the page shows\n"
    "the sandbox's browser as it is now. A --control URL also passes mouse, keys, text\n"
    "and navigation on to the page, but only while an accepted hand-off lets a person\n"
    "act (sandq handoff accept); otherwise input is refused (403). Whoever holds the URL\n"
    "can use it until it expires: treat it as a password.\n"
    "\n"
    "Options:\n"
    "  --control            a control URL (default: view only)\n"
    "  --ttl D              how long the URL is valid (default 1h, at most 24h)\n"
    "  --timeout D          how long to wait for the worker's answer (default 60s)\n"
    "  --region R           the region the sandbox was launched with, if any\n"
    "  --json               print {\"url\",\"mode\",\"expiresAt\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: 0 printed; 1 failed (capability_disabled: the sandbox has no browser);\n"
    "124 no answer in time.\n"
    "\n"
    "Examples:\n"
    "  sandq preview $SBX\n"
    "  xdg-open \"$(sandq preview $SBX --control --ttl 15m)\"\n";

enum { P_CONTROL = 300, P_TTL, P_TIMEOUT, P_REGION, P_JSON };

static const struct option preview_opts[] = {{"control", no_argument, 0, P_CONTROL},
                                             {"ttl", required_argument, 0, P_TTL},
                                             {"timeout", required_argument, 0, P_TIMEOUT},
                                             {"region", required_argument, 0, P_REGION},
                                             {"json", no_argument, 0, P_JSON},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};

int cmd_preview(int argc, char **argv)
{
    const char *cmd = "preview";
    sandq_preview_opts po = SANDQ_PREVIEW_OPTS_INIT;
    const char *region = NULL;
    bool json = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", preview_opts, NULL)) != -1) {
        switch (ch) {
        case P_CONTROL: po.control = 1; break;
        case P_TTL:
            if (cli_duration(cmd, "ttl", optarg, &po.ttl_ms) < 0)
                return CLI_EXIT_USAGE;
            if (po.ttl_ms > 86400000)
                return cli_usage(cmd, "--ttl is at most 24h");
            break;
        case P_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &po.wait_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case P_REGION: region = optarg; break;
        case P_JSON: json = true; break;
        case 'h': fputs(preview_help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, 1, NULL);
    if (!sbx)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, region, json, &rc);
    if (!c)
        return rc;
    sandq_error err;
    char *url = NULL;
    int64_t expires = 0;
    sandq_code code = sandq_preview_url(c, sbx, &po, &url, &expires, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json)
        cli_print_json(json_pack("{s:s, s:s, s:I}", "url", url, "mode", po.control ? "control" : "view", "expiresAt",
                                 (json_int_t)expires));
    else
        printf("%s\n", url);
    sandq_free(url);
    return CLI_EXIT_OK;
}
