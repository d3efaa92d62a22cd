/* cmd_launch.c — `sandq launch`: create a sandbox and wait until it is ready;
 * `sandq create`: the same request, returning once Kafka has it (state queued). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sq/clock.h"
#include "units.h"

static const char help[] =
    "usage: sandq launch [options]\n"
    "\n"
    "Create a sandbox and wait until it is ready. Prints its id (on a terminal: id,\n"
    "region, worker and how long it took).\n"
    "\n"
    "Options:\n"
    "  --id SBX             use this sandbox id (default: a fresh sbx_ id)\n"
    "  --region R           region to run in, e.g. iad (default: any)\n"
    "  --runtime NAME       base | python | node | bun (default: base)\n"
    "  --env K=V            environment variable for the sandbox (repeatable)\n"
    "  --memory SIZE        memory limit: 512M, 2G (a bare number is MiB)\n"
    "  --cpus N             CPU limit, e.g. 1 or 0.5\n"
    "  --pids N             process limit\n"
    "  --disk SIZE          disk limit: 1G (a bare number is MiB)\n"
    "  --network MODE       none | internet\n"
    "  --timeout D          sandbox lifetime: 30m, 2h (default: the worker's)\n"
    "  --idle-timeout D     end the sandbox after this long without tasks\n"
    "  --auto-checkpoint D  checkpoint the workspace automatically every D, e.g. 10m\n"
    "  --reply-to TOPIC     also publish this sandbox's events to TOPIC\n"
    "  --metadata K=V       metadata echoed on the sandbox's events (repeatable)\n"
    "  --agent              enable the AI agent capability (reads OPENROUTER_* from --env)\n"
    "  --browser WxH        enable a headless browser with this viewport, e.g. 1280x800\n"
    "  --documents          enable document conversion (LibreOffice headless)\n"
    "  --body-json JSON     extra create-body fields, e.g. '{\"capabilities\":{…}}'\n"
    "  --wait D             how long to wait for ready (default 2m)\n"
    "  --no-wait            return once Kafka has the request (state queued)\n"
    "  --json               print {\"id\",\"state\",\"region\",\"workerId\",\"requestId\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq launch\n"
    "  SBX=$(sandq launch --memory 1G --cpus 2 --timeout 30m --network internet)\n"
    "  sandq launch --region iad --env API_KEY=secret --json\n"
    "  sandq launch --browser 1280x800 --documents\n";

static const char create_help[] =
    "usage: sandq create [options]\n"
    "\n"
    "Publish a sandbox.create request and return as soon as Kafka has acknowledged it:\n"
    "the sandbox is queued, not ready yet (wait with `sandq launch`-style polling:\n"
    "`sandq get SBX`, or `sandq events --sandbox SBX --follow`). Prints its id.\n"
    "Takes every option of `sandq launch` except --wait/--no-wait.\n"
    "\n"
    "Examples:\n"
    "  SBX=$(sandq create --runtime python)\n"
    "  sandq create --json\n";

enum { O_ID = 256, O_REGION, O_RUNTIME, O_ENV, O_MEMORY, O_CPUS, O_PIDS, O_DISK, O_NETWORK, O_TIMEOUT,
       O_IDLE, O_REPLY, O_META, O_BODY, O_WAIT, O_NOWAIT, O_JSON, O_AGENT, O_BROWSER, O_DOCS, O_AUTOCKPT };

static const struct option opts[] = {
    {"id", required_argument, 0, O_ID},         {"region", required_argument, 0, O_REGION},
    {"runtime", required_argument, 0, O_RUNTIME}, {"env", required_argument, 0, O_ENV},
    {"memory", required_argument, 0, O_MEMORY}, {"cpus", required_argument, 0, O_CPUS},
    {"pids", required_argument, 0, O_PIDS},     {"disk", required_argument, 0, O_DISK},
    {"network", required_argument, 0, O_NETWORK}, {"timeout", required_argument, 0, O_TIMEOUT},
    {"idle-timeout", required_argument, 0, O_IDLE}, {"reply-to", required_argument, 0, O_REPLY},
    {"auto-checkpoint", required_argument, 0, O_AUTOCKPT},
    {"metadata", required_argument, 0, O_META}, {"body-json", required_argument, 0, O_BODY},
    {"wait", required_argument, 0, O_WAIT},     {"no-wait", no_argument, 0, O_NOWAIT},
    {"json", no_argument, 0, O_JSON},           {"help", no_argument, 0, 'h'},
    {"agent", no_argument, 0, O_AGENT},         {"browser", required_argument, 0, O_BROWSER},
    {"documents", no_argument, 0, O_DOCS},
    {0, 0, 0, 0}};

/* The capabilities object of --agent/--browser/--documents, merged into the
 * --body-json object; the result (a new string) becomes the create's body_json. */
static char *capabilities_body(const char *cmd, const char *body_json, bool agent, int bw, int bh, bool docs)
{
    json_error_t jerr;
    json_t *body = body_json ? json_loads(body_json, 0, &jerr) : json_object();
    if (!json_is_object(body)) {
        cli_usage(cmd, "bad --body-json: %s", body ? "not a JSON object" : jerr.text);
        json_decref(body);
        return NULL;
    }
    json_t *caps = json_object_get(body, "capabilities");
    if (!json_is_object(caps)) {
        caps = json_object();
        json_object_set_new(body, "capabilities", caps);
    }
    if (agent)
        json_object_set_new(caps, "agent", json_pack("{s:b, s:s}", "enabled", 1, "defaultAgent", "build"));
    if (bw > 0)
        json_object_set_new(caps, "browser", json_pack("{s:{s:i, s:i}}", "viewport", "width", bw, "height", bh));
    if (docs)
        json_object_set_new(caps, "documents", json_pack("{s:b}", "libreofficeHeadless", 1));
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return s;
}

int cmd_launch(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool is_create = strcmp(cmd, "create") == 0;
    bool agent = false, docs = false;
    int bw = 0, bh = 0;
    char *caps_json = NULL;
    sandq_create_opts co = SANDQ_CREATE_OPTS_INIT;
    cli_list env = {0}, meta = {0};
    const char *region = NULL;
    int64_t wait_ms = 2 * 60 * 1000;
    bool no_wait = false, json = false;
    int rc = CLI_EXIT_USAGE;
    double d;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_ID:
            if (cli_sandbox_id(cmd, optarg) < 0)
                goto out;
            co.sandbox_id = optarg;
            break;
        case O_REGION: region = optarg; break;
        case O_RUNTIME: co.runtime = optarg; break;
        case O_ENV:
            if (cli_kv(cmd, "env", optarg, &env) < 0)
                goto out;
            break;
        case O_MEMORY:
            if (cli_size_mb(cmd, "memory", optarg, &co.memory_mb) < 0)
                goto out;
            break;
        case O_CPUS:
            if (cli_number(cmd, "cpus", optarg, 0.01, 1024, &co.cpus) < 0)
                goto out;
            break;
        case O_PIDS:
            if (cli_number(cmd, "pids", optarg, 1, 1 << 22, &d) < 0)
                goto out;
            co.pids = (int64_t)d;
            break;
        case O_DISK:
            if (cli_size_mb(cmd, "disk", optarg, &co.disk_mb) < 0)
                goto out;
            break;
        case O_NETWORK:
            if (strcmp(optarg, "none") != 0 && strcmp(optarg, "internet") != 0) {
                cli_usage(cmd, "bad --network value \"%s\": expected none or internet", optarg);
                goto out;
            }
            co.network = optarg;
            break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &co.timeout_ms) < 0)
                goto out;
            break;
        case O_IDLE:
            if (cli_duration(cmd, "idle-timeout", optarg, &co.idle_timeout_ms) < 0)
                goto out;
            break;
        case O_AUTOCKPT:
            if (cli_duration(cmd, "auto-checkpoint", optarg, &co.auto_checkpoint_ms) < 0)
                goto out;
            break;
        case O_REPLY: co.reply_to = optarg; break;
        case O_META:
            if (cli_kv(cmd, "metadata", optarg, &meta) < 0)
                goto out;
            break;
        case O_BODY: co.body_json = optarg; break;
        case O_WAIT:
            if (cli_duration(cmd, "wait", optarg, &wait_ms) < 0)
                goto out;
            break;
        case O_NOWAIT: no_wait = true; break;
        case O_JSON: json = true; break;
        case O_AGENT: agent = true; break;
        case O_DOCS: docs = true; break;
        case O_BROWSER: {
            char x;
            if (sscanf(optarg, "%d%c%d", &bw, &x, &bh) != 3 || (x != 'x' && x != 'X') || bw < 100 || bh < 100 ||
                bw > 7680 || bh > 4320) {
                cli_usage(cmd, "bad --browser value \"%s\": expected WIDTHxHEIGHT like 1280x800", optarg);
                goto out;
            }
            break;
        }
        case 'h':
            fputs(is_create ? create_help : help, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            cli_bad_option(cmd, ch, argv);
            goto out;
        }
    }
    if (optind < argc) {
        cli_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
        goto out;
    }
    if (is_create)
        no_wait = true;
    if (agent || docs || bw > 0) {
        caps_json = capabilities_body(cmd, co.body_json, agent, bw, bh, docs);
        if (!caps_json)
            goto out;
        co.body_json = caps_json;
    }
    co.region = region;
    co.env = cli_list_items(&env);
    co.metadata = cli_list_items(&meta);

    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        goto out;
    sandq_sandbox sb;
    sandq_error err;
    int64_t t0 = sq_mono_ms();
    sandq_code code = no_wait ? sandq_create(c, &co, &sb, &err) : sandq_launch(c, &co, wait_ms, &sb, &err);
    int64_t took = sq_mono_ms() - t0;
    sandq_client_free(c);
    if (code) {
        rc = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
        goto out;
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "id", sb.id, "state", sb.state, "region",
                              sb.region[0] ? sb.region : NULL, "workerId", sb.worker_id[0] ? sb.worker_id : NULL,
                              "requestId", sb.request_id);
        cli_print_json(o);
    } else if (cli_stdout_tty()) {
        char dur[32];
        printf("%s %s", sb.id, sb.state);
        if (sb.region[0] || sb.worker_id[0])
            printf(" (%s%s%s)", sb.region, sb.region[0] && sb.worker_id[0] ? ", " : "", sb.worker_id);
        printf(" in %s\n", sqp_format_duration(took, dur, sizeof dur));
    } else {
        printf("%s\n", sb.id);
    }
    rc = CLI_EXIT_OK;
out:
    free(caps_json);
    cli_list_free(&env);
    cli_list_free(&meta);
    return rc;
}
