/* cmd_webhooks.c — `sandq webhooks add|list|rm|rotate|enable|test|deliveries|redeliver`:
 * operator and tenant webhook endpoints, and the delivery log.
 *
 * Options and printing only: every operation is a libsandq call (sandq_webhook_*,
 * producer/src/webhooks.c), which reads and writes the endpoints and the delivery
 * log in PostgreSQL (SANDQ_DATABASE_URL, or .stack/env inside a checkout) and seals
 * secrets with SANDQ_WEBHOOK_SECRET_KEY, the key the workers open them with. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sq/clock.h"
#include "sq/env.h"
#include "sq/ids.h"

static const char help[] =
    "usage: sandq webhooks <subcommand> [options]\n"
    "\n"
    "Operator and tenant webhook endpoints (a sandbox's own webhook comes with its\n"
    "sandbox.create). Every matching event is POSTed, signed per Standard Webhooks,\n"
    "and retried on failure; see docs/webhooks.md.\n"
    "\n"
    "Subcommands:\n"
    "  add URL              add an endpoint; prints its id and secret (shown once)\n"
    "      --event-type T   deliver only T (exact, or a prefix such as sandbox.task.*); repeatable\n"
    "      --tenant T       only events of tenant T (default: every tenant)\n"
    "      --description D  free text\n"
    "      --secret S       use this whsec_ secret instead of a generated one\n"
    "  list                 the endpoints (secrets are never shown)\n"
    "  rm ID                remove an endpoint; its pending deliveries fail\n"
    "  rotate ID [--secret S]  new secret; deliveries carry both signatures until --done\n"
    "  rotate ID --done     stop signing with the previous secret\n"
    "  enable ID            enable an endpoint again (after a 410 disabled it)\n"
    "  test ID              send a webhook.test event and wait for the answer\n"
    "      --timeout D      how long to wait (default 30s)\n"
    "  deliveries           the delivery log, newest first\n"
    "      --failed         only failed deliveries\n"
    "      --endpoint ID    only this endpoint's\n"
    "      --limit N        at most N (default 50)\n"
    "  redeliver ID         try delivery ID (from `deliveries`) once more, now\n"
    "\n"
    "Every subcommand takes --json. Configuration: SANDQ_DATABASE_URL and\n"
    "SANDQ_WEBHOOK_SECRET_KEY (or .stack/env inside a checkout).\n"
    "\n"
    "Examples:\n"
    "  sandq webhooks add https://example.com/hooks --event-type sandbox.task.* --tenant acme\n"
    "  sandq webhooks test ep_01JDQ3V8Y6J7Z8ZK2W6Q0X1ABC\n"
    "  sandq webhooks deliveries --failed\n"
    "  sandq webhooks redeliver 42\n";

enum { O_EVENT_TYPE = 256, O_TENANT, O_DESCRIPTION, O_SECRET, O_JSON, O_FAILED, O_ENDPOINT, O_LIMIT, O_TIMEOUT, O_DONE };

static const struct option opts[] = {{"event-type", required_argument, 0, O_EVENT_TYPE},
                                     {"tenant", required_argument, 0, O_TENANT},
                                     {"description", required_argument, 0, O_DESCRIPTION},
                                     {"secret", required_argument, 0, O_SECRET},
                                     {"json", no_argument, 0, O_JSON},
                                     {"failed", no_argument, 0, O_FAILED},
                                     {"endpoint", required_argument, 0, O_ENDPOINT},
                                     {"limit", required_argument, 0, O_LIMIT},
                                     {"timeout", required_argument, 0, O_TIMEOUT},
                                     {"done", no_argument, 0, O_DONE},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

typedef struct wh_args {
    const char *cmd;
    cli_list types;
    const char *tenant, *description, *secret, *endpoint;
    bool json, failed, done;
    double limit;
    int64_t timeout_ms;
} wh_args;

static int fail(const wh_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const wh_args *a, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    fprintf(stderr, "sandq: %s: %s\n", a->cmd, msg);
    if (a->json)
        cli_print_json(json_pack("{s:{s:s, s:s}}", "error", "code", "internal", "message", msg));
    return CLI_EXIT_FAIL;
}

/* A library failure: the message as the library gives it ("postgres: …", "no endpoint …"). */
static int fail_err(const wh_args *a, const sandq_error *err)
{
    return fail(a, "%s", err->message);
}

static bool url_ok(const char *u)
{
    bool scheme = (strncmp(u, "http://", 7) == 0 && u[7]) || (strncmp(u, "https://", 8) == 0 && u[8]);
    return scheme && strlen(u) <= 2048 && !strpbrk(u, " \t\r\n");
}

/* Rows as a JSON array on stdout (--json) or an aligned table. */
static void print_rows(const sandq_table *t, bool json)
{
    size_t rows = t->rows, cols = t->cols;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < rows; i++) {
            json_t *o = json_object();
            for (size_t j = 0; j < cols; j++) {
                const char *v = t->cells[i * cols + j];
                json_object_set_new(o, t->names[j], v ? json_string(v) : json_null());
            }
            json_array_append_new(arr, o);
        }
        cli_print_json(arr);
        return;
    }
    int w[32] = {0};
    for (size_t j = 0; j < cols && j < 32; j++) {
        w[j] = (int)strlen(t->names[j]);
        for (size_t i = 0; i < rows; i++) {
            const char *v = t->cells[i * cols + j];
            int l = v ? (int)strlen(v) : 1;
            if (l > w[j])
                w[j] = l > 60 ? 60 : l;
        }
    }
    for (size_t j = 0; j < cols && j < 32; j++)
        printf("%-*s%s", w[j], t->names[j], j + 1 < cols ? "  " : "\n");
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols && j < 32; j++) {
            const char *v = t->cells[i * cols + j];
            printf("%-*.*s%s", w[j], w[j], v ? v : "-", j + 1 < cols ? "  " : "\n");
        }
}

static int print_table(const wh_args *a, sandq_code rc, sandq_table *t, const sandq_error *err)
{
    if (rc)
        return fail_err(a, err);
    print_rows(t, a->json);
    sandq_table_free(t);
    return CLI_EXIT_OK;
}

static void warn_plain(const wh_args *a, const sandq_webhook_secret *s)
{
    if (s->stored_plain)
        fprintf(stderr, "sandq: %s: warning: SANDQ_WEBHOOK_SECRET_KEY is not set; the secret is stored unencrypted\n",
                a->cmd);
}

static int sub_add(sandq_client_t *c, const wh_args *a, const char *url)
{
    sandq_webhook_opts o = {.struct_size = sizeof o,
                            .event_types = cli_list_items(&a->types),
                            .tenant = a->tenant,
                            .description = a->description,
                            .secret = a->secret};
    sandq_webhook_secret s;
    sandq_error err;
    if (sandq_webhook_add(c, url, &o, &s, &err))
        return fail_err(a, &err);
    warn_plain(a, &s);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:s, s:s}", "id", s.endpoint_id, "url", url, "secret", s.secret));
    else
        printf("%s\nsecret: %s\n(the secret is shown only now; receivers verify signatures with it)\n", s.endpoint_id,
               s.secret);
    return CLI_EXIT_OK;
}

static int sub_list(sandq_client_t *c, const wh_args *a)
{
    sandq_table *t = NULL;
    sandq_error err;
    sandq_code rc = sandq_webhook_list(c, &t, &err);
    return print_table(a, rc, t, &err);
}

/* rm, rotate --done, enable: one call on an endpoint, then {"id", <flag>: value}. */
static int endpoint_call(const wh_args *a, sandq_code rc, const sandq_error *err, const char *id, const char *flag,
                         bool value)
{
    if (rc)
        return fail_err(a, err);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:b}", "id", id, flag, value));
    return CLI_EXIT_OK;
}

static int sub_rotate(sandq_client_t *c, const wh_args *a, const char *id)
{
    sandq_error err;
    if (a->done)
        return endpoint_call(a, sandq_webhook_rotate_done(c, id, &err), &err, id, "rotating", false);
    sandq_webhook_secret s;
    if (sandq_webhook_rotate(c, id, a->secret, &s, &err))
        return fail_err(a, &err);
    warn_plain(a, &s);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:s, s:b}", "id", id, "secret", s.secret, "rotating", 1));
    else
        printf("secret: %s\n(deliveries carry signatures with the new and the previous secret until "
               "`sandq webhooks rotate %s --done`)\n",
               s.secret, id);
    return CLI_EXIT_OK;
}

/* Queue the test delivery, then show its first attempt once a worker made it. The
 * wait is here, not in the library, so that Ctrl-C ends it at once. */
static int sub_test(sandq_client_t *c, const wh_args *a, const char *id)
{
    sandq_error err;
    int64_t did;
    if (sandq_webhook_test(c, id, &did, &err))
        return fail_err(a, &err);
    int64_t deadline = sq_mono_ms() + (a->timeout_ms > 0 ? a->timeout_ms : 30000);
    while (!cli_interrupted) {
        sandq_table *t;
        if (sandq_webhook_delivery(c, did, &t, &err))
            return fail_err(a, &err);
        const char *attempts = sandq_table_get(t, 0, "attempts");
        bool done = attempts && atoi(attempts) > 0;
        if (done || sq_mono_ms() >= deadline) {
            const char *state = sandq_table_get(t, 0, "state");
            bool ok = done && state && strcmp(state, "delivered") == 0;
            print_rows(t, a->json);
            sandq_table_free(t);
            if (!done) {
                fprintf(stderr, "sandq: %s: no worker attempted delivery %lld in time (is a worker running?)\n",
                        a->cmd, (long long)did);
                return CLI_EXIT_TIMEOUT;
            }
            return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        }
        sandq_table_free(t);
        usleep(100 * 1000);
    }
    return CLI_EXIT_INTERRUPTED;
}

static int sub_deliveries(sandq_client_t *c, const wh_args *a)
{
    sandq_deliveries_opts o = {.struct_size = sizeof o,
                               .failed_only = a->failed,
                               .endpoint_id = a->endpoint,
                               .limit = (size_t)a->limit};
    sandq_table *t = NULL;
    sandq_error err;
    sandq_code rc = sandq_webhook_deliveries(c, &o, &t, &err);
    return print_table(a, rc, t, &err);
}

static int sub_redeliver(sandq_client_t *c, const wh_args *a, const char *id)
{
    long long v = strtoll(id, NULL, 10);
    int enabled = 1;
    sandq_error err;
    if (sandq_webhook_redeliver(c, v, &enabled, &err))
        return fail_err(a, &err);
    if (!enabled)
        fprintf(stderr, "sandq: %s: warning: the endpoint is disabled; `sandq webhooks enable` it first\n", a->cmd);
    if (a->json)
        cli_print_json(json_pack("{s:I, s:s}", "id", (json_int_t)v, "state", "pending"));
    else if (cli_stdout_tty())
        printf("delivery %s queued\n", id);
    return CLI_EXIT_OK;
}

int cmd_webhooks(int argc, char **argv)
{
    wh_args a = {.cmd = "webhooks", .limit = 50};
    CLI_GETOPT_RESET();
    int ch, rc = CLI_EXIT_OK;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_EVENT_TYPE:
            if (cli_list_push(&a.types, optarg) < 0)
                rc = CLI_EXIT_FAIL;
            break;
        case O_TENANT: a.tenant = optarg; break;
        case O_DESCRIPTION: a.description = optarg; break;
        case O_SECRET: a.secret = optarg; break;
        case O_JSON: a.json = true; break;
        case O_FAILED: a.failed = true; break;
        case O_ENDPOINT: a.endpoint = optarg; break;
        case O_DONE: a.done = true; break;
        case O_LIMIT:
            if (cli_number(a.cmd, "limit", optarg, 1, 10000, &a.limit) < 0)
                rc = CLI_EXIT_USAGE;
            break;
        case O_TIMEOUT:
            if (cli_duration(a.cmd, "timeout", optarg, &a.timeout_ms) < 0)
                rc = CLI_EXIT_USAGE;
            break;
        case 'h': fputs(help, stdout); cli_list_free(&a.types); return CLI_EXIT_OK;
        default: cli_list_free(&a.types); return cli_bad_option(a.cmd, ch, argv);
        }
        if (rc)
            break;
    }
    if (rc) {
        cli_list_free(&a.types);
        return rc;
    }
    int nargs = argc - optind;
    const char *sub = nargs > 0 ? argv[optind] : NULL;
    const char *arg = nargs > 1 ? argv[optind + 1] : NULL;
    static const struct {
        const char *name;
        int nargs;
    } subs[] = {{"add", 1},  {"list", 0},       {"rm", 1},         {"rotate", 1},
                {"enable", 1}, {"test", 1}, {"deliveries", 0}, {"redeliver", 1}};
    int want = -1;
    for (size_t i = 0; sub && i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(sub, subs[i].name) == 0)
            want = subs[i].nargs;
    if (want < 0) {
        cli_list_free(&a.types);
        return sub ? cli_usage(a.cmd, "unknown subcommand \"%s\"", sub) : cli_usage(a.cmd, "missing subcommand");
    }
    if (nargs - 1 != want) {
        cli_list_free(&a.types);
        return cli_usage(a.cmd, nargs - 1 < want ? "%s: missing argument" : "%s: too many arguments", sub);
    }
    /* Bad arguments are usage errors, found before any connection. */
    const char *bad = NULL;
    if (strcmp(sub, "add") == 0 && !url_ok(arg))
        bad = "URL must be http:// or https:// (at most 2048 characters, no spaces)";
    else if (strcmp(sub, "redeliver") == 0 && (strspn(arg, "0123456789") != strlen(arg) || strlen(arg) > 18 ||
                                               strtoll(arg, NULL, 10) <= 0))
        bad = "a delivery id is a number (see `sandq webhooks deliveries`)";
    else if (arg && strcmp(sub, "add") != 0 && strcmp(sub, "redeliver") != 0 && !sq_id_valid(arg, "ep"))
        bad = "an endpoint id is ep_ followed by a ULID (see `sandq webhooks list`)";
    if (bad) {
        cli_list_free(&a.types);
        return cli_usage(a.cmd, "%s", bad);
    }
    cli_catch_interrupts();
    sq_env_load_stack_file();
    sandq_client_opts co = {.struct_size = sizeof co, .client_id = "sandq-webhooks"};
    sandq_error err;
    sandq_client_t *c = sandq_client_new(&co, &err);
    if (!c) {
        fail_err(&a, &err);
        cli_list_free(&a.types);
        return CLI_EXIT_FAIL;
    }
    if (strcmp(sub, "add") == 0)
        rc = sub_add(c, &a, arg);
    else if (strcmp(sub, "list") == 0)
        rc = sub_list(c, &a);
    else if (strcmp(sub, "rm") == 0)
        rc = endpoint_call(&a, sandq_webhook_remove(c, arg, &err), &err, arg, "removed", true);
    else if (strcmp(sub, "rotate") == 0)
        rc = sub_rotate(c, &a, arg);
    else if (strcmp(sub, "enable") == 0)
        rc = endpoint_call(&a, sandq_webhook_enable(c, arg, &err), &err, arg, "enabled", true);
    else if (strcmp(sub, "test") == 0)
        rc = sub_test(c, &a, arg);
    else if (strcmp(sub, "deliveries") == 0)
        rc = sub_deliveries(c, &a);
    else
        rc = sub_redeliver(c, &a, arg);
    sandq_client_free(c);
    cli_list_free(&a.types);
    return rc;
}
