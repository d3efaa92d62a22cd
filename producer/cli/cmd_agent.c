/* cmd_agent.c — `sandq prompt SBX "…"` (a task.agent: queue it, or with
 * --wait stream its steps to stderr and print the answer) and `sandq agent
 * transcript TASK` (the redacted transcript from PostgreSQL), through
 * sandq_prompt_async / sandq_prompt_wait and sandq_agent_transcript. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char prompt_help[] =
    "usage: sandq prompt SBX \"PROMPT\" [options]\n"
    "\n"
    "Give the sandbox's AI agent a task (task.agent). The sandbox must have been created\n"
    "with the agent (sandq launch --agent --env OPENROUTER_API_KEY=… --env\n"
    "OPENROUTER_MODEL=…). Without --wait, prints the task id once Kafka has the request.\n"
    "\n"
    "Options:\n"
    "  --agent NAME         build (all tools; the default) or plan (read-only)\n"
    "  --model ID           a model for this task (default: OPENROUTER_MODEL)\n"
    "  --max-steps N        model turns with tool calls before it must sum up (default 50)\n"
    "  --timeout D          the task's time limit, e.g. 10m (default: the worker's, 30m)\n"
    "  --wait               wait: each step on stderr, the answer on stdout\n"
    "  --json               with --wait: print the result object; else {\"taskId\"}\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0, 1 when the task failed (the reason on stderr), 124 on a timeout.\n"
    "\n"
    "Examples:\n"
    "  sandq prompt $SBX 'Write the first 10 primes to primes.csv' --wait\n"
    "  sandq prompt $SBX 'How is this project tested?' --agent plan --wait\n"
    "  sandq agent transcript tsk_…\n";

static const char agent_help[] =
    "usage: sandq agent transcript TASK [--json]\n"
    "\n"
    "Print an agent task's transcript (PostgreSQL; secrets redacted): every message of the\n"
    "conversation, with the tool calls and their results. Needs SANDQ_DATABASE_URL.\n"
    "--json prints the stored record as one JSON line.\n";

enum { O_AGENT = 256, O_MODEL, O_STEPS, O_TIMEOUT, O_WAIT, O_JSON };

static const struct option prompt_opts[] = {
    {"agent", required_argument, 0, O_AGENT},     {"model", required_argument, 0, O_MODEL},
    {"max-steps", required_argument, 0, O_STEPS}, {"timeout", required_argument, 0, O_TIMEOUT},
    {"wait", no_argument, 0, O_WAIT},             {"json", no_argument, 0, O_JSON},
    {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};

static void show_progress(void *user, const char *progress_json)
{
    (void)user;
    json_error_t je;
    json_t *p = json_loads(progress_json, 0, &je);
    const char *tool = json_string_value(json_object_get(p, "tool"));
    fprintf(stderr, "step %lld%s%s: %s (%lld tokens so far)\n", (long long)json_integer_value(json_object_get(p, "step")),
            tool && *tool ? " " : "", tool ? tool : "", json_string_value(json_object_get(p, "summary")) ?: "",
            (long long)json_integer_value(json_object_get(p, "totalTokens")));
    json_decref(p);
}

static int run_prompt(int argc, char **argv)
{
    const char *cmd = argv[0];
    sandq_prompt_opts o = SANDQ_PROMPT_OPTS_INIT;
    bool wait = false, json = false;
    CLI_GETOPT_RESET();
    int ch;
    double steps;
    while ((ch = getopt_long(argc, argv, ":h", prompt_opts, NULL)) != -1) {
        switch (ch) {
        case O_AGENT:
            if (strcmp(optarg, "build") != 0 && strcmp(optarg, "plan") != 0)
                return cli_usage(cmd, "--agent is build or plan, not \"%s\"", optarg);
            o.agent = optarg;
            break;
        case O_MODEL: o.model = optarg; break;
        case O_STEPS:
            if (cli_number(cmd, "max-steps", optarg, 1, 1000, &steps) < 0)
                return CLI_EXIT_USAGE;
            o.max_steps = (int)steps;
            break;
        case O_TIMEOUT:
            if (cli_duration(cmd, "timeout", optarg, &o.timeout_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_WAIT: wait = true; break;
        case O_JSON: json = true; break;
        case 'h': fputs(prompt_help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage(cmd, "needs SBX and a prompt");
    const char *sbx = argv[optind], *text = argv[optind + 1];
    if (cli_sandbox_id(cmd, sbx) < 0)
        return CLI_EXIT_USAGE;
    if (!*text)
        return cli_usage(cmd, "the prompt is empty");
    int exit_code;
    sandq_client_t *c = cli_client(cmd, NULL, json, &exit_code);
    if (!c)
        return exit_code;
    if (wait && !json) {
        o.on_progress = show_progress;
        cli_catch_interrupts();
    }
    sandq_task_t *t = NULL;
    sandq_error err;
    if (sandq_prompt_async(c, sbx, text, &o, &t, &err)) {
        exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    } else if (!wait) {
        if (json)
            cli_print_json(json_pack("{s:s}", "taskId", sandq_task_id(t)));
        else
            printf("%s\n", sandq_task_id(t));
        exit_code = CLI_EXIT_OK;
    } else {
        int64_t total = o.timeout_ms > 0 ? o.timeout_ms + 30000 : 31 * 60 * 1000;
        char *result = NULL;
        sandq_code rc;
        /* Short waits, so Ctrl-C cancels the task rather than leaving it running. */
        int64_t waited = 0;
        do {
            rc = sandq_prompt_wait(t, 500, &result, &err);
            waited += 500;
            if (rc == SANDQ_E_WAIT_TIMEOUT && cli_interrupted) {
                sandq_error ce;
                (void)sandq_task_cancel(t, &ce);
                fprintf(stderr, "sandq: %s: canceling %s\n", cmd, sandq_task_id(t));
                cli_interrupted = 0;
            }
        } while (rc == SANDQ_E_WAIT_TIMEOUT && waited < total);
        if (rc) {
            exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
        } else {
            json_error_t je;
            json_t *r = json_loads(result, 0, &je);
            if (json) {
                cli_print_json(json_incref(r));
            } else {
                printf("%s\n", json_string_value(json_object_get(r, "answer")) ?: "");
                const json_t *u = json_object_get(r, "usage");
                fprintf(stderr, "%lld steps, %lld tokens, files changed: %zu\n",
                        (long long)json_integer_value(json_object_get(r, "steps")),
                        (long long)json_integer_value(json_object_get(u, "totalTokens")),
                        json_array_size(json_object_get(r, "filesChanged")));
            }
            json_decref(r);
            exit_code = CLI_EXIT_OK;
        }
        sandq_free(result);
    }
    sandq_task_free(t);
    sandq_client_free(c);
    return exit_code;
}

static void print_message(const json_t *m)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    const json_t *content = json_object_get(m, "content");
    if (role && strcmp(role, "tool") == 0)
        printf("--- tool result (%s)\n", json_string_value(json_object_get(m, "tool_call_id")) ?: "?");
    else
        printf("--- %s\n", role ? role : "?");
    if (json_is_string(content) && json_string_length(content))
        printf("%s\n", json_string_value(content));
    size_t i;
    const json_t *call;
    json_array_foreach(json_object_get(m, "tool_calls"), i, call)
    {
        const json_t *fn = json_object_get(call, "function");
        printf("[call %s] %s %s\n", json_string_value(json_object_get(call, "id")) ?: "?",
               json_string_value(json_object_get(fn, "name")) ?: "?",
               json_string_value(json_object_get(fn, "arguments")) ?: "");
    }
}

static int run_transcript(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool json = false;
    static const struct option o[] = {{"json", no_argument, 0, O_JSON}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", o, NULL)) != -1) {
        switch (ch) {
        case O_JSON: json = true; break;
        case 'h': fputs(agent_help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "transcript") != 0)
        return cli_usage(cmd, "usage: sandq agent transcript TASK");
    int exit_code;
    sandq_client_t *c = cli_client(cmd, NULL, json, &exit_code);
    if (!c)
        return exit_code;
    char *text = NULL;
    sandq_error err;
    if (sandq_agent_transcript(c, argv[optind + 1], &text, &err)) {
        exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    } else {
        json_error_t je;
        json_t *r = json_loads(text, 0, &je);
        if (json) {
            cli_print_json(json_incref(r));
        } else {
            const json_t *t = json_object_get(r, "transcript");
            printf("task %s  agent %s  model %s  steps %lld  outcome %s%s\n", json_string_value(json_object_get(r, "taskId")),
                   json_string_value(json_object_get(r, "agent")), json_string_value(json_object_get(r, "model")),
                   (long long)json_integer_value(json_object_get(r, "steps")),
                   json_string_value(json_object_get(t, "outcome")) ?: "?",
                   json_is_true(json_object_get(t, "truncated")) ? "  (truncated)" : "");
            size_t i;
            const json_t *m;
            json_array_foreach(json_object_get(t, "messages"), i, m) print_message(m);
        }
        json_decref(r);
        exit_code = CLI_EXIT_OK;
    }
    sandq_free(text);
    sandq_client_free(c);
    return exit_code;
}

int cmd_agent(int argc, char **argv)
{
    return strcmp(argv[0], "prompt") == 0 ? run_prompt(argc, argv) : run_transcript(argc, argv);
}
