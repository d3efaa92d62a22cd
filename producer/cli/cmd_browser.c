/* cmd_browser.c — `sandq browser SBX OP ARGS…`: one browser action on a sandbox
 * created with a browser (`sandq launch --browser WxH`), through
 * sandq_browser_run. screenshot and pdf write into the sandbox's workspace and
 * the file is then fetched to the caller's path and removed from the sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: sandq browser SBX ACTION [ARGS] [options]\n"
    "\n"
    "Run one browser action on a sandbox that has a browser (sandq launch --browser WxH).\n"
    "\n"
    "Actions:\n"
    "  goto URL             navigate and wait for the page to load; prints the URL\n"
    "  click SEL            click the first element matching the CSS selector\n"
    "  type SEL TEXT        type TEXT into the element\n"
    "  press KEY            press a key: Enter, Tab, Escape, ArrowDown, a, …\n"
    "  wait SEL             wait until an element matches (--timeout bounds it)\n"
    "  eval JS              evaluate JavaScript; prints its value as JSON\n"
    "  content              print the page's HTML (--text: its text)\n"
    "  screenshot OUT.png   save a PNG of the page here (--full-page: all of it)\n"
    "  pdf OUT.pdf          save the page as a PDF here\n"
    "  restart              close the browser cleanly and start it again on its profile\n"
    "\n"
    "Options:\n"
    "  --timeout D          the action's time limit (default: the worker's, 60s)\n"
    "  --full-page          screenshot: the whole page, not just the viewport\n"
    "  --text               content: the page's text instead of its HTML\n"
    "  --json               print the action's result object\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0, 1 when the action failed (the reason on stderr), 124 on a timeout.\n"
    "\n"
    "Examples:\n"
    "  SBX=$(sandq launch --browser 1280x800)\n"
    "  sandq browser $SBX goto https://example.com\n"
    "  sandq browser $SBX eval 'document.title'\n"
    "  sandq browser $SBX screenshot page.png\n";

enum { O_TIMEOUT = 256, O_FULL, O_TEXT, O_JSON };

static const struct option opts[] = {
    {"timeout", required_argument, 0, O_TIMEOUT}, {"full-page", no_argument, 0, O_FULL},
    {"text", no_argument, 0, O_TEXT},             {"json", no_argument, 0, O_JSON},
    {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};

typedef struct op_spec {
    const char *name;  /* on the command line */
    const char *op;    /* on the wire */
    const char *args[2]; /* the wire fields the positional arguments fill */
} op_spec;

static const op_spec specs[] = {
    {"goto", "goto", {"url", NULL}},         {"click", "click", {"selector", NULL}},
    {"type", "type", {"selector", "text"}},  {"press", "press", {"key", NULL}},
    {"wait", "waitFor", {"selector", NULL}}, {"eval", "evaluate", {"expression", NULL}},
    {"content", "content", {NULL, NULL}},    {"screenshot", "screenshot", {NULL, NULL}},
    {"pdf", "pdf", {NULL, NULL}},            {"restart", "restart", {NULL, NULL}},
};

static const op_spec *find_spec(const char *name)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static int nargs(const op_spec *s)
{
    bool file = strcmp(s->op, "screenshot") == 0 || strcmp(s->op, "pdf") == 0;
    return file ? 1 : (s->args[0] != NULL) + (s->args[1] != NULL);
}

/* screenshot/pdf: fetch the file the browser wrote into the workspace to `out`,
 * then remove it there. */
static int fetch(sandq_client_t *c, const char *sbx, const char *remote, const char *out, bool json)
{
    void *data;
    size_t len;
    sandq_error err;
    if (sandq_files_read(c, sbx, remote, NULL, &data, &len, NULL, &err))
        return cli_fail("browser", &err, json, CLI_EXIT_FAIL);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || cli_write_all(fd, data, len) < 0 ? -1 : 0;
    int saved = errno;
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = -1, saved = errno;
    sandq_free(data);
    (void)sandq_files_remove(c, sbx, remote, 0, 0, &err); /* a leftover in the workspace is harmless */
    if (rc < 0)
        return cli_io_fail("browser", json, "%s: %s", out, strerror(saved));
    return CLI_EXIT_OK;
}

static void print_result(const op_spec *s, const json_t *r, bool text, bool json)
{
    if (json) {
        cli_print_json(json_incref((json_t *)r));
        return;
    }
    if (strcmp(s->op, "evaluate") == 0) {
        char *v = json_dumps(json_object_get(r, "value"), JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s\n", v ? v : "null");
        free(v);
    } else if (strcmp(s->op, "content") == 0) {
        const char *v = json_string_value(json_object_get(r, text ? "text" : "html"));
        printf("%s\n", v ? v : "");
    } else if (strcmp(s->op, "goto") == 0) {
        printf("%s\n", json_string_value(json_object_get(r, "url")) ?: "");
    }
}

int cmd_browser(int argc, char **argv)
{
    const char *cmd = argv[0];
    int64_t timeout_ms = 0;
    bool full = false, text = false, json = false;
    CLI_GETOPT_RESET();
    int ch;
    /* getopt permutes: options may come after the action too
     * (`sandq browser SBX screenshot a.png --full-page`). */
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_FULL: full = true; break;
        case O_TEXT: text = true; break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    int npos = argc - optind;
    char **pos = argv + optind;
    if (npos < 2)
        return cli_usage(cmd, "needs SBX and an action");
    if (cli_sandbox_id(cmd, pos[0]) < 0)
        return CLI_EXIT_USAGE;
    const op_spec *s = find_spec(pos[1]);
    if (!s)
        return cli_usage(cmd, "unknown action \"%s\"", pos[1]);
    if (npos - 2 != nargs(s))
        return cli_usage(cmd, "%s takes %d argument%s", s->name, nargs(s), nargs(s) == 1 ? "" : "s");

    json_t *a = json_pack("{s:s}", "op", s->op);
    for (int i = 0; i < 2 && s->args[i]; i++)
        json_object_set_new(a, s->args[i], json_string(pos[2 + i]));
    bool file = strcmp(s->op, "screenshot") == 0 || strcmp(s->op, "pdf") == 0;
    char remote[96] = "";
    if (file) {
        char id[SANDQ_ID_MAX];
        sandq_new_sandbox_id(id); /* only for its ULID: a name no one else uses */
        snprintf(remote, sizeof remote, ".sandq-cli/%s.%s", id + 4, strcmp(s->op, "pdf") == 0 ? "pdf" : "png");
        json_object_set_new(a, "path", json_string(remote));
        if (full)
            json_object_set_new(a, "fullPage", json_true());
    }
    if (strcmp(s->op, "waitFor") == 0 && timeout_ms > 0)
        json_object_set_new(a, "timeoutMs", json_integer(timeout_ms));
    json_t *actions = json_pack("[o]", a);
    char *actions_json = json_dumps(actions, JSON_COMPACT);
    json_decref(actions);

    int exit_code;
    sandq_client_t *c = cli_client(cmd, NULL, json, &exit_code);
    if (!c) {
        free(actions_json);
        return exit_code;
    }
    sandq_browser_opts bo = {.struct_size = sizeof bo, .timeout_ms = timeout_ms};
    char *result = NULL;
    sandq_error err;
    if (sandq_browser_run(c, pos[0], actions_json, &bo, &result, &err)) {
        exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    } else {
        json_error_t jerr;
        json_t *r = json_loads(result, 0, &jerr);
        json_t *first = json_array_get(json_object_get(r, "actions"), 0);
        exit_code = CLI_EXIT_OK;
        if (file)
            exit_code = fetch(c, pos[0], remote, pos[2], json);
        if (exit_code == CLI_EXIT_OK && first)
            print_result(s, first, text, json);
        json_decref(r);
    }
    sandq_free(result);
    free(actions_json);
    sandq_client_free(c);
    return exit_code;
}
