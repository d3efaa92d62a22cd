/* cmd_state.c — `sandq get SBX`, `sandq list [--state S]` and `sandq history SBX`:
 * what is running now (the workers' live state in Redis) and what happened
 * (PostgreSQL). These are the only commands that need SANDQ_REDIS_URL /
 * SANDQ_DATABASE_URL; everything else talks to Kafka alone. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "units.h"

static const char get_help[] =
    "usage: sandq get SBX [--json]\n"
    "\n"
    "Show a sandbox's live state, read from Redis (SANDQ_REDIS_URL): state, previous\n"
    "state, region, worker, runtime, created/updated times and the last event seq.\n"
    "\n"
    "Options:\n"
    "  --json               print {\"id\",\"state\",\"previous\",\"tenant\",\"region\",\"workerId\",\n"
    "                       \"runtime\",\"replyTo\",\"createdAt\",\"updatedAt\",\"seq\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit codes: 0 found; 1 not found or error (reason on stderr).\n"
    "\n"
    "Examples:\n"
    "  sandq get $SBX\n"
    "  sandq get $SBX --json | jq -r .state\n";

static const char list_help[] =
    "usage: sandq list [--state S] [--limit N] [--all-tenants] [--json]\n"
    "\n"
    "List sandboxes, newest first, from the live state in Redis (SANDQ_REDIS_URL).\n"
    "Only your tenant's (SANDQ_TENANT, default \"default\") unless --all-tenants.\n"
    "\n"
    "Options:\n"
    "  --state S            only sandboxes in state S (queued, assigning, ready, active,\n"
    "                       pausing, paused, ending, ended, failed)\n"
    "  --limit N            at most N (default 1000)\n"
    "  --all-tenants        every tenant's sandboxes\n"
    "  --json               one JSON object per sandbox per line (as `sandq get --json`)\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq list\n"
    "  sandq list --state ready --json | jq -r .id\n";

static const char history_help[] =
    "usage: sandq history SBX [--json]\n"
    "\n"
    "Show a sandbox's durable history from PostgreSQL (SANDQ_DATABASE_URL): every\n"
    "event recorded for it, in seq order, and its tasks.\n"
    "\n"
    "Options:\n"
    "  --json               print {\"sandbox\":{row},\"tasks\":[rows],\"events\":[envelopes]}\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq history $SBX\n"
    "  sandq history $SBX --json | jq '.events[].type'\n";

static const char audit_help[] =
    "usage: sandq audit SBX [--json]\n"
    "\n"
    "Print the audit trail of a sandbox created with capabilities.recording.enabled:\n"
    "every request, state change, command (argv, cwd, exit code, duration), file\n"
    "operation, browser action and agent step, in order, secrets redacted. Read from\n"
    "PostgreSQL (SANDQ_DATABASE_URL), like `sandq history`. docs/recording.md\n"
    "\n"
    "Options:\n"
    "  --json               print the rows as a JSON array\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sandq audit $SBX\n"
    "  sandq audit $SBX --json | jq '.[] | select(.category == \"command\") | .detail.argv'\n";

static const char *const states[] = {"queued", "assigning", "ready", "active", "pausing",
                                     "paused", "ending",    "ended", "failed"};

enum { O_JSON = 256, O_STATE, O_LIMIT, O_ALL };

static const struct option opts[] = {{"json", no_argument, 0, O_JSON},        {"state", required_argument, 0, O_STATE},
                                     {"limit", required_argument, 0, O_LIMIT}, {"all-tenants", no_argument, 0, O_ALL},
                                     {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};

static json_t *info_json(const sandq_sandbox_info *s)
{
    json_t *o = json_pack("{s:s, s:s}", "id", s->id, "state", s->state);
#define STR(k, v)                                                                                                    \
    if ((v)[0])                                                                                                      \
        json_object_set_new(o, k, json_string(v));
    STR("previous", s->previous)
    STR("tenant", s->tenant)
    STR("region", s->region)
    STR("workerId", s->worker_id)
    STR("runtime", s->runtime)
    STR("replyTo", s->reply_to)
#undef STR
    json_object_set_new(o, "createdAt", json_integer(s->created_at));
    json_object_set_new(o, "updatedAt", json_integer(s->updated_at));
    json_object_set_new(o, "seq", json_integer(s->seq));
    return o;
}

static char *fmt_time(int64_t ms, char *out, size_t len)
{
    if (ms <= 0) {
        snprintf(out, len, "-");
        return out;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

static void print_row(const sandq_sandbox_info *s, bool header)
{
    char created[32];
    if (header)
        printf("%-30s  %-9s  %-6s  %-16s  %-20s\n", "ID", "STATE", "REGION", "WORKER", "CREATED");
    printf("%-30s  %-9s  %-6s  %-16s  %-20s\n", s->id, s->state, s->region[0] ? s->region : "-",
           s->worker_id[0] ? s->worker_id : "-", fmt_time(s->created_at, created, sizeof created));
}

static int cmd_get(int argc, char **argv, const char *cmd, bool json)
{
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, 1, NULL);
    if (!sbx)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        return rc;
    sandq_sandbox_info s;
    sandq_error err;
    sandq_code code = sandq_get(c, sbx, &s, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json) {
        cli_print_json(info_json(&s));
    } else {
        char a[32], b[32];
        printf("id:        %s\nstate:     %s%s%s%s\nregion:    %s\nworker:    %s\nruntime:   %s\n"
               "created:   %s\nupdated:   %s\nseq:       %lld\n",
               s.id, s.state, s.previous[0] ? " (was " : "", s.previous, s.previous[0] ? ")" : "",
               s.region[0] ? s.region : "-", s.worker_id[0] ? s.worker_id : "-", s.runtime[0] ? s.runtime : "-",
               fmt_time(s.created_at, a, sizeof a), fmt_time(s.updated_at, b, sizeof b), (long long)s.seq);
    }
    return CLI_EXIT_OK;
}

static int cmd_list(int argc, char **argv, const char *cmd, bool json, const char *state, size_t limit, bool all)
{
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
    if (state) {
        bool ok = false;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
            ok = ok || strcmp(state, states[i]) == 0;
        if (!ok)
            return cli_usage(cmd, "bad --state value \"%s\": expected queued, assigning, ready, active, pausing, "
                                  "paused, ending, ended or failed",
                             state);
    }
    int rc;
    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        return rc;
    sandq_list_opts lo = {.struct_size = sizeof lo, .state = state, .limit = limit, .all_tenants = all};
    sandq_sandbox_info *v;
    size_t n;
    sandq_error err;
    sandq_code code = sandq_list(c, &lo, &v, &n, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    for (size_t i = 0; i < n; i++) {
        if (json)
            cli_print_json(info_json(&v[i]));
        else
            print_row(&v[i], i == 0);
    }
    if (!json && n == 0 && cli_stdout_tty())
        printf("no sandboxes%s%s\n", state ? " in state " : "", state ? state : "");
    sandq_free(v);
    return CLI_EXIT_OK;
}

static int cmd_history(int argc, char **argv, const char *cmd, bool json)
{
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, 1, NULL);
    if (!sbx)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        return rc;
    sandq_sandbox_history *h;
    sandq_error err;
    sandq_code code = sandq_history(c, sbx, &h, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    if (json) {
        json_t *events = json_array();
        for (size_t i = 0; i < h->count; i++) {
            json_t *e = json_loads(h->entries[i].json, 0, NULL);
            json_array_append_new(events, e ? e : json_null());
        }
        json_t *row = json_loads(h->sandbox_json, 0, NULL);
        json_t *tasks = json_loads(h->tasks_json, 0, NULL);
        cli_print_json(json_pack("{s:o, s:o, s:o}", "sandbox", row ? row : json_null(), "tasks",
                                 tasks ? tasks : json_array(), "events", events));
    } else {
        for (size_t i = 0; i < h->count; i++) {
            const sandq_history_entry *e = &h->entries[i];
            char at[32];
            time_t t = (time_t)(e->at / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(at, sizeof at, "%H:%M:%S", &tm);
            printf("%s.%03d  #%-4lld %-26s %s\n", at, (int)(e->at % 1000), (long long)e->seq, e->type,
                   e->task_id);
        }
    }
    sandq_history_free(h);
    return CLI_EXIT_OK;
}

/* One line of the trail: what happened, as a reader of an audit log wants it. */
static void audit_line(const json_t *row)
{
    int64_t at_ms = json_integer_value(json_object_get(row, "at"));
    char at[32];
    time_t t = (time_t)(at_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
    const char *cat = json_string_value(json_object_get(row, "category"));
    const char *ev = json_string_value(json_object_get(row, "eventType"));
    const char *rt = json_string_value(json_object_get(row, "requestType"));
    const json_t *d = json_object_get(row, "detail");
    printf("%s.%03dZ #%-4lld %-9s %-26s", at, (int)(at_ms % 1000), (long long)json_integer_value(json_object_get(row, "seq")),
           cat ? cat : "", ev ? ev : "");
    const json_t *argv = json_object_get(d, "argv");
    if (argv) {
        size_t i;
        const json_t *a;
        printf(" $");
        json_array_foreach(argv, i, a) printf(" %s", json_string_value(a));
        printf("  (cwd %s", json_string_value(json_object_get(d, "cwd")));
        if (json_object_get(d, "exitCode"))
            printf(", exit %lld", (long long)json_integer_value(json_object_get(d, "exitCode")));
        printf(", %lld ms)", (long long)json_integer_value(json_object_get(d, "durationMs")));
    } else if (json_object_get(d, "path") && json_object_get(d, "op")) {
        printf(" %s %s", json_string_value(json_object_get(d, "op")), json_string_value(json_object_get(d, "path")));
    } else if (json_object_get(d, "action")) {
        char *a = json_dumps(json_object_get(d, "action"), JSON_COMPACT);
        printf(" %s", a ? a : "");
        free(a);
    } else if (rt && strcmp(cat ? cat : "", "request") == 0) {
        printf(" %s", rt);
    }
    const char *code = json_string_value(json_object_get(d, "code"));
    if (code)
        printf(" [%s]", code);
    putchar('\n');
}

static int cmd_audit(int argc, char **argv, const char *cmd, bool json)
{
    const char *sbx = cli_sandbox_operands(cmd, argc, argv, 1, NULL);
    if (!sbx)
        return CLI_EXIT_USAGE;
    int rc;
    sandq_client_t *c = cli_client(cmd, NULL, json, &rc);
    if (!c)
        return rc;
    char *text = NULL;
    int recording = 0;
    sandq_error err;
    sandq_code code = sandq_audit(c, sbx, &text, &recording, &err);
    sandq_client_free(c);
    if (code)
        return cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    json_t *rows = json_loads(text, 0, NULL);
    sandq_free(text);
    if (!rows)
        rows = json_array();
    if (json) {
        cli_print_json(rows);
        return CLI_EXIT_OK;
    }
    if (!recording)
        fprintf(stderr, "sandq audit: %s was not created with capabilities.recording.enabled: nothing was recorded\n",
                sbx);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) audit_line(row);
    json_decref(rows);
    return CLI_EXIT_OK;
}

int cmd_state(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *help = strcmp(cmd, "get") == 0    ? get_help
                       : strcmp(cmd, "list") == 0 ? list_help
                       : strcmp(cmd, "audit") == 0 ? audit_help
                                                   : history_help;
    bool json = false, all = false;
    const char *state = NULL;
    size_t limit = 0;
    double d;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_JSON: json = true; break;
        case O_STATE:
            if (strcmp(cmd, "list") != 0)
                return cli_usage(cmd, "unknown option --state");
            state = optarg;
            break;
        case O_LIMIT:
            if (strcmp(cmd, "list") != 0)
                return cli_usage(cmd, "unknown option --limit");
            if (cli_number(cmd, "limit", optarg, 1, 1e7, &d) < 0)
                return CLI_EXIT_USAGE;
            limit = (size_t)d;
            break;
        case O_ALL:
            if (strcmp(cmd, "list") != 0)
                return cli_usage(cmd, "unknown option --all-tenants");
            all = true;
            break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (strcmp(cmd, "get") == 0)
        return cmd_get(argc, argv, cmd, json);
    if (strcmp(cmd, "list") == 0)
        return cmd_list(argc, argv, cmd, json, state, limit, all);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit(argc, argv, cmd, json);
    return cmd_history(argc, argv, cmd, json);
}
