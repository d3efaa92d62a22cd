/* cmd_webhooks.c — `sandq webhooks add|list|rm|rotate|enable|test|deliveries|redeliver`:
 * operator and tenant webhook endpoints, and the delivery log.
 *
 * Endpoints and deliveries live in PostgreSQL (sql/007, sql/008), so this
 * command talks to the database directly (SANDQ_DATABASE_URL, or .stack/env
 * inside a checkout) rather than through Kafka; libpq is linked into the CLI
 * only, never into libsandq. Secrets are sealed with SANDQ_WEBHOOK_SECRET_KEY,
 * the same key the workers open them with (worker/src/notify/webhook_secret.h). */
#include <getopt.h>
#include <stdarg.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sq/codec.h"
#include "sq/env.h"
#include "sq/ids.h"
#include "sq/webhook_secret.h"
#include "sq/webhook_sign.h"

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

static PGconn *connect_db(const wh_args *a)
{
    sq_env_load_stack_file();
    sq_conn_config conn;
    sq_conn_config_from_env(&conn);
    PGconn *c = PQconnectdb(conn.database_url);
    if (PQstatus(c) != CONNECTION_OK) {
        fail(a, "postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static PGresult *q(PGconn *c, const wh_args *a, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    fail(a, "postgres: %s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

/* Rows as a JSON array on stdout (--json) or an aligned table. */
static void print_rows(const PGresult *r, bool json)
{
    int rows = PQntuples(r), cols = PQnfields(r);
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; i < rows; i++) {
            json_t *o = json_object();
            for (int j = 0; j < cols; j++)
                json_object_set_new(o, PQfname(r, j), PQgetisnull(r, i, j) ? json_null()
                                                                          : json_string(PQgetvalue(r, i, j)));
            json_array_append_new(arr, o);
        }
        cli_print_json(arr);
        return;
    }
    int w[32] = {0};
    for (int j = 0; j < cols && j < 32; j++) {
        w[j] = (int)strlen(PQfname(r, j));
        for (int i = 0; i < rows; i++) {
            int l = PQgetisnull(r, i, j) ? 1 : (int)strlen(PQgetvalue(r, i, j));
            if (l > w[j])
                w[j] = l > 60 ? 60 : l;
        }
    }
    for (int j = 0; j < cols && j < 32; j++)
        printf("%-*s%s", w[j], PQfname(r, j), j + 1 < cols ? "  " : "\n");
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols && j < 32; j++)
            printf("%-*.*s%s", w[j], w[j], PQgetisnull(r, i, j) ? "-" : PQgetvalue(r, i, j),
                   j + 1 < cols ? "  " : "\n");
}

static int load_box(const wh_args *a, sq_wh_box *box)
{
    sq_env_load_stack_file();
    sq_err err;
    if (sq_wh_box_init(box, getenv("SANDQ_WEBHOOK_SECRET_KEY"), &err) < 0)
        return fail(a, "%s", err.msg);
    if (!box->has_key)
        fprintf(stderr, "sandq: %s: warning: SANDQ_WEBHOOK_SECRET_KEY is not set; the secret is stored unencrypted\n",
                a->cmd);
    return 0;
}

static int new_secret(const wh_args *a, char *secret, size_t n)
{
    sq_err err;
    if (a->secret) {
        sq_wh_key k;
        if (sq_wh_key_from_secret(a->secret, &k, &err) < 0 || strncmp(a->secret, "whsec_", 6) != 0)
            return fail(a, "--secret must be whsec_ followed by base64");
        snprintf(secret, n, "%s", a->secret);
        return 0;
    }
    if (sq_wh_secret_generate(secret, n, &err) < 0)
        return fail(a, "%s", err.msg);
    return 0;
}

static bool url_ok(const char *u)
{
    return (strncmp(u, "http://", 7) == 0 && u[7]) || (strncmp(u, "https://", 8) == 0 && u[8]);
}

static int sub_add(PGconn *c, const wh_args *a, const char *url)
{
    sq_wh_box box;
    char secret[SQ_WH_SECRET_MAX], id[SQ_ID_MAX], sealed[SQ_WH_SEALED_MAX];
    if (load_box(a, &box) < 0 || new_secret(a, secret, sizeof secret) < 0)
        return CLI_EXIT_FAIL;
    sq_id_new("ep", id);
    sq_err err;
    if (sq_wh_box_seal(&box, id, secret, sealed, &err) < 0)
        return fail(a, "%s", err.msg);
    json_t *types = json_array();
    for (const char *const *t = cli_list_items(&a->types); t && *t; t++)
        json_array_append_new(types, json_string(*t));
    char *tj = json_dumps(types, JSON_COMPACT);
    json_decref(types);
    const char *p[] = {id, a->tenant, url, sealed, tj, a->description};
    PGresult *r = q(c, a,
                    "INSERT INTO webhook_endpoints (id, tenant, url, secret_sealed, event_types, description) "
                    "VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6)",
                    6, p);
    free(tj);
    if (!r)
        return CLI_EXIT_FAIL;
    PQclear(r);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:s, s:s}", "id", id, "url", url, "secret", secret));
    else
        printf("%s\nsecret: %s\n(the secret is shown only now; receivers verify signatures with it)\n", id, secret);
    return CLI_EXIT_OK;
}

static int sub_list(PGconn *c, const wh_args *a)
{
    PGresult *r = q(c, a,
                    "SELECT id, COALESCE(sandbox_id, '') AS sandbox, COALESCE(tenant, '*') AS tenant, url,"
                    "       CASE WHEN cardinality(event_types) = 0 THEN '*' ELSE array_to_string(event_types, ',') END"
                    "         AS event_types,"
                    "       CASE WHEN enabled THEN 'enabled' ELSE 'disabled: ' || COALESCE(disabled_reason, '') END"
                    "         AS status,"
                    "       secret_prev_sealed IS NOT NULL AS rotating, COALESCE(description, '') AS description "
                    "FROM webhook_endpoints WHERE sandbox_id IS NULL ORDER BY created_at",
                    0, NULL);
    if (!r)
        return CLI_EXIT_FAIL;
    print_rows(r, a->json);
    PQclear(r);
    return CLI_EXIT_OK;
}

static int one_row(PGconn *c, const wh_args *a, const char *sql, const char *id, const char *what)
{
    const char *p[] = {id};
    PGresult *r = q(c, a, sql, 1, p);
    if (!r)
        return CLI_EXIT_FAIL;
    bool found = PQntuples(r) > 0 || atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    if (!found)
        return fail(a, "no %s %s", what, id);
    return CLI_EXIT_OK;
}

static int sub_rm(PGconn *c, const wh_args *a, const char *id)
{
    /* Pending deliveries fail visibly instead of waiting forever for an endpoint that is gone. */
    const char *p[] = {id};
    PGresult *r = q(c, a,
                    "UPDATE webhook_deliveries SET state = 'failed', last_error = 'endpoint removed', "
                    "updated_at = now() WHERE endpoint_id = $1 AND state = 'pending'",
                    1, p);
    if (!r)
        return CLI_EXIT_FAIL;
    PQclear(r);
    int rc = one_row(c, a, "DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id", id, "endpoint");
    if (rc == 0 && a->json)
        cli_print_json(json_pack("{s:s, s:b}", "id", id, "removed", 1));
    return rc;
}

static int sub_rotate(PGconn *c, const wh_args *a, const char *id)
{
    if (a->done) {
        int rc = one_row(c, a,
                         "UPDATE webhook_endpoints SET secret_prev_sealed = NULL, updated_at = now() "
                         "WHERE id = $1 RETURNING id",
                         id, "endpoint");
        if (rc == 0 && a->json)
            cli_print_json(json_pack("{s:s, s:b}", "id", id, "rotating", 0));
        return rc;
    }
    sq_wh_box box;
    char secret[SQ_WH_SECRET_MAX], sealed[SQ_WH_SEALED_MAX];
    if (load_box(a, &box) < 0 || new_secret(a, secret, sizeof secret) < 0)
        return CLI_EXIT_FAIL;
    sq_err err;
    if (sq_wh_box_seal(&box, id, secret, sealed, &err) < 0)
        return fail(a, "%s", err.msg);
    const char *p[] = {id, sealed};
    PGresult *r = q(c, a,
                    "UPDATE webhook_endpoints SET secret_prev_sealed = secret_sealed, secret_sealed = $2, "
                    "updated_at = now() WHERE id = $1 AND sandbox_id IS NULL RETURNING id",
                    2, p);
    if (!r)
        return CLI_EXIT_FAIL;
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0)
        return fail(a, "no endpoint %s", id);
    if (a->json)
        cli_print_json(json_pack("{s:s, s:s, s:b}", "id", id, "secret", secret, "rotating", 1));
    else
        printf("secret: %s\n(deliveries carry signatures with the new and the previous secret until "
               "`sandq webhooks rotate %s --done`)\n",
               secret, id);
    return CLI_EXIT_OK;
}

static int sub_enable(PGconn *c, const wh_args *a, const char *id)
{
    int rc = one_row(c, a,
                     "UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, updated_at = now() "
                     "WHERE id = $1 RETURNING id",
                     id, "endpoint");
    if (rc == 0) {
        PGresult *r = q(c, a, "NOTIFY sandq_webhooks", 0, NULL);
        if (r)
            PQclear(r);
        if (a->json)
            cli_print_json(json_pack("{s:s, s:b}", "id", id, "enabled", 1));
    }
    return rc;
}

static int sub_test(PGconn *c, const wh_args *a, const char *id)
{
    char evt[SQ_ID_MAX];
    sq_id_new("evt", evt);
    json_t *env = json_pack("{s:i, s:s, s:s, s:I, s:{s:s}}", "v", 1, "eventId", evt, "type", "webhook.test", "at",
                            (json_int_t)sq_now_ms(), "data", "endpointId", id);
    char *payload = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    const char *p[] = {evt, id, payload};
    PGresult *r = q(c, a,
                    "INSERT INTO webhook_deliveries (event_id, endpoint_id, endpoint_url, event_type, tenant, payload) "
                    "SELECT $1, id, url, 'webhook.test', tenant, $3 FROM webhook_endpoints WHERE id = $2 "
                    "RETURNING id",
                    3, p);
    free(payload);
    if (!r)
        return CLI_EXIT_FAIL;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fail(a, "no endpoint %s", id);
    }
    char did[24];
    snprintf(did, sizeof did, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if ((r = q(c, a, "NOTIFY sandq_webhooks", 0, NULL)))
        PQclear(r);
    int64_t deadline = sq_mono_ms() + (a->timeout_ms > 0 ? a->timeout_ms : 30000);
    const char *pp[] = {did};
    while (!cli_interrupted) {
        r = q(c, a,
              "SELECT id AS delivery, event_id, state, attempts, last_status AS status, last_latency_ms AS latency_ms,"
              "       last_error AS error FROM webhook_deliveries WHERE id = $1::bigint",
              1, pp);
        if (!r)
            return CLI_EXIT_FAIL;
        bool done = PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 3)) > 0;
        if (done || sq_mono_ms() >= deadline) {
            bool ok = done && strcmp(PQgetvalue(r, 0, 2), "delivered") == 0;
            print_rows(r, a->json);
            PQclear(r);
            if (!done) {
                fprintf(stderr, "sandq: %s: no worker attempted delivery %s in time (is a worker running?)\n", a->cmd,
                        did);
                return CLI_EXIT_TIMEOUT;
            }
            return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        }
        PQclear(r);
        usleep(100 * 1000);
    }
    return CLI_EXIT_INTERRUPTED;
}

static int sub_deliveries(PGconn *c, const wh_args *a)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", (int)a->limit);
    const char *p[] = {a->failed ? "failed" : NULL, a->endpoint, lim};
    PGresult *r = q(c, a,
                    "SELECT id, event_id, event_type, endpoint_id, state, attempts, last_status AS status,"
                    "       last_latency_ms AS latency_ms,"
                    "       to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS next_attempt,"
                    "       last_error AS error "
                    "FROM webhook_deliveries WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR endpoint_id = $2) "
                    "ORDER BY id DESC LIMIT $3::int",
                    3, p);
    if (!r)
        return CLI_EXIT_FAIL;
    print_rows(r, a->json);
    PQclear(r);
    return CLI_EXIT_OK;
}

static int sub_redeliver(PGconn *c, const wh_args *a, const char *id)
{
    long long v = strtoll(id, NULL, 10);
    const char *p[] = {id};
    PGresult *r = q(c, a,
                    "UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = now(), lease_owner = NULL,"
                    "       lease_until = NULL, updated_at = now() "
                    "FROM webhook_endpoints e WHERE d.id = $1::bigint AND e.id = d.endpoint_id "
                    "RETURNING d.id, e.enabled",
                    1, p);
    if (!r)
        return CLI_EXIT_FAIL;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fail(a, "no delivery %s (or its endpoint was removed)", id);
    }
    bool enabled = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if ((r = q(c, a, "NOTIFY sandq_webhooks", 0, NULL)))
        PQclear(r);
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
    if (strcmp(sub, "add") == 0 && (!url_ok(arg) || strlen(arg) > 2048 || strpbrk(arg, " \t\r\n")))
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
    PGconn *c = connect_db(&a);
    if (!c) {
        cli_list_free(&a.types);
        return CLI_EXIT_FAIL;
    }
    if (strcmp(sub, "add") == 0)
        rc = sub_add(c, &a, arg);
    else if (strcmp(sub, "list") == 0)
        rc = sub_list(c, &a);
    else if (strcmp(sub, "rm") == 0)
        rc = sub_rm(c, &a, arg);
    else if (strcmp(sub, "rotate") == 0)
        rc = sub_rotate(c, &a, arg);
    else if (strcmp(sub, "enable") == 0)
        rc = sub_enable(c, &a, arg);
    else if (strcmp(sub, "test") == 0)
        rc = sub_test(c, &a, arg);
    else if (strcmp(sub, "deliveries") == 0)
        rc = sub_deliveries(c, &a);
    else
        rc = sub_redeliver(c, &a, arg);
    PQfinish(c);
    cli_list_free(&a.types);
    return rc;
}
