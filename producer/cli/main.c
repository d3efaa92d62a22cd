/* main.c — the sandq command-line tool: dispatch to one command per file
 * (cmd_*.c). Configuration comes from the environment (SANDQ_KAFKA_BROKERS,
 * SANDQ_TOPIC_PREFIX, SANDQ_TENANT, SANDQ_TIMEOUT_MS), or from `.stack/env` when run
 * inside a checkout. docs/cli.md documents every command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sq/log.h"

static const char usage[] =
    "usage: sandq <command> [options]\n"
    "\n"
    "Sandboxes:\n"
    "  launch               create a sandbox and wait until it is ready\n"
    "  create               create a sandbox; return once Kafka has the request\n"
    "  get SBX              live state of a sandbox (Redis)\n"
    "  list [--state S]     sandboxes, newest first (Redis)\n"
    "  history SBX          every recorded event and task of a sandbox (PostgreSQL)\n"
    "  audit SBX            the audit trail of a recording sandbox (PostgreSQL)\n"
    "  pause|resume|kill SBX  pause, resume or end a sandbox\n"
    "  set-timeout SBX D    change a sandbox's lifetime\n"
    "  cancel SBX TASK_ID   cancel a running or queued task\n"
    "\n"
    "Work:\n"
    "  exec SBX -- CMD...   run a command, streaming its output; exits with its code\n"
    "  sh SBX 'LINE'        run a shell line (sh -c)\n"
    "  run-code SBX FILE|-  run Python/JavaScript/TypeScript/bash source\n"
    "  cp SRC DST           copy a file in (LOCAL SBX:PATH) or out (SBX:PATH LOCAL)\n"
    "  ls SBX [PATH]        list files;  rm SBX PATH: remove one\n"
    "  files put|get|ls|rm  the same, grouped\n"
    "  browser SBX ACTION   drive the sandbox's browser: goto, click, type, press,\n"
    "                       wait, eval, content, screenshot OUT.png, pdf OUT.pdf\n"
    "  prompt SBX \"TEXT\"     give the sandbox's AI agent a task (--wait: its answer)\n"
    "  agent transcript TASK  an agent task's conversation (PostgreSQL)\n"
    "  doc convert SBX IN --to FMT  convert a document (docx, odt, html, md, xlsx,\n"
    "                       ods, csv, pptx, pdf) with LibreOffice in the sandbox\n"
    "  handoff ...          hand the browser to a person and back: request, accept,\n"
    "                       complete, cancel, ls\n"
    "  preview SBX          a signed URL of the sandbox's live browser (--control)\n"
    "  events               print sandbox events as they happen\n"
    "  batch submit FILE    submit a JSONL file of jobs at volume, optionally wait\n"
    "  webhooks ...         webhook endpoints and the delivery log (PostgreSQL)\n"
    "  artifacts ls SBX     files tasks exported; artifacts get ART OUT downloads one\n"
    "  checkpoint create SBX  archive the workspace; checkpoint ls SBX, checkpoint restore SBX CHK\n"
    "\n"
    "Every command takes --help and --json. Configuration: SANDQ_KAFKA_BROKERS,\n"
    "SANDQ_TOPIC_PREFIX, SANDQ_TENANT, SANDQ_REDIS_URL (get, list),\n"
    "SANDQ_DATABASE_URL (history), or .stack/env inside a checkout. docs/cli.md\n"
    "documents every command.\n"
    "\n"
    "Examples:\n"
    "  SBX=$(sandq launch)\n"
    "  sandq exec $SBX -- python3 -c 'print(6*7)'\n"
    "  sandq files put ./data.csv $SBX:/workspace/data.csv\n"
    "  sandq kill $SBX\n";

typedef int (*command_fn)(int argc, char **argv);

static command_fn find(const char *name)
{
    static const struct {
        const char *name;
        command_fn fn;
    } commands[] = {{"launch", cmd_launch},    {"create", cmd_launch},     {"exec", cmd_exec},
                    {"sh", cmd_exec},          {"run-code", cmd_exec},     {"files", cmd_files},
                    {"cp", cmd_files},         {"ls", cmd_files},          {"rm", cmd_files},
                    {"kill", cmd_lifecycle},   {"pause", cmd_lifecycle},   {"resume", cmd_lifecycle},
                    {"set-timeout", cmd_lifecycle}, {"events", cmd_events}, {"get", cmd_state},
                    {"list", cmd_state},       {"history", cmd_state},     {"audit", cmd_state},     {"batch", cmd_batch},
                    {"webhooks", cmd_webhooks}, {"browser", cmd_browser}, {"artifacts", cmd_artifacts},
                    {"cancel", cmd_cancel},     {"prompt", cmd_agent},     {"agent", cmd_agent},
                    {"doc", cmd_doc},            {"checkpoint", cmd_checkpoint},
                    {"handoff", cmd_handoff},     {"preview", cmd_preview}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn;
    return NULL;
}

int main(int argc, char **argv)
{
    sq_log_init("cli", NULL, sq_log_level_from_name(getenv("SANDQ_LOG_LEVEL"), SQ_LOG_WARN));
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 && argc > 2) {
        /* "sandq help exec" = "sandq exec --help" */
        command_fn fn = find(argv[2]);
        static char help_flag[] = "--help";
        char *help_argv[] = {argv[2], help_flag, NULL};
        if (fn)
            return fn(2, help_argv);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sandq %s\n", SANDQ_VERSION);
        return CLI_EXIT_OK;
    }
    command_fn fn = find(cmd);
    if (!fn) {
        fprintf(stderr, "sandq: unknown command \"%s\"\n\n%s", cmd, usage);
        return CLI_EXIT_USAGE;
    }
    return fn(argc - 1, argv + 1);
}
