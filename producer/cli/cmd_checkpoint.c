/* cmd_checkpoint.c — `sandq checkpoint create|ls|restore SBX …`: a sandbox's
 * workspace checkpoints (docs/checkpoints.md), through libsandq's
 * sandq_checkpoint_create, sandq_checkpoints_list and sandq_checkpoint_restore. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: sandq checkpoint create SBX [--label TEXT] [--id chk_…]\n"
    "       sandq checkpoint ls SBX\n"
    "       sandq checkpoint restore SBX CHECKPOINT_ID\n"
    "\n"
    "Checkpoints of a sandbox's workspace (its browser profile included), kept in the\n"
    "workers' artifact store. create prints the new checkpoint's id; ls lists them,\n"
    "newest first (id, size, created, label); restore replaces the workspace with one\n"
    "and restarts the sandbox's browser. Processes are not checkpointed.\n"
    "\n"
    "Options:\n"
    "  --label TEXT         create: a label kept with the checkpoint\n"
    "  --id chk_…           create: the checkpoint's id (default: a new one)\n"
    "  --wait D             how long to wait for the outcome (default 10m)\n"
    "  --json               print the task's result object\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0, 1 when the task failed (e.g. checkpoint_not_found), 124 on a timeout.\n"
    "\n"
    "Examples:\n"
    "  CHK=$(sandq checkpoint create $SBX --label before-upgrade)\n"
    "  sandq checkpoint ls $SBX\n"
    "  sandq checkpoint restore $SBX $CHK\n";

enum { O_LABEL = 256, O_ID, O_WAIT, O_JSON };

static const struct option opts[] = {{"label", required_argument, 0, O_LABEL}, {"id", required_argument, 0, O_ID},
                                     {"wait", required_argument, 0, O_WAIT},   {"json", no_argument, 0, O_JSON},
                                     {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};

static void print_list(const json_t *r)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(r, "checkpoints"), i, c)
    {
        const char *label = json_string_value(json_object_get(c, "label"));
        printf("%s\t%lld\t%lld\t%s\n", json_string_value(json_object_get(c, "checkpointId")),
               (long long)json_integer_value(json_object_get(c, "sizeBytes")),
               (long long)json_integer_value(json_object_get(c, "createdAt")), label ? label : "");
    }
}

int cmd_checkpoint(int argc, char **argv)
{
    const char *cmd = "checkpoint";
    sandq_checkpoint_opts o = SANDQ_CHECKPOINT_OPTS_INIT;
    bool json = false;
    CLI_GETOPT_RESET();
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case O_LABEL: o.label = optarg; break;
        case O_ID: o.checkpoint_id = optarg; break;
        case O_WAIT:
            if (cli_duration(cmd, "wait", optarg, &o.wait_ms) < 0)
                return CLI_EXIT_USAGE;
            break;
        case O_JSON: json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    int npos = argc - optind;
    char **pos = argv + optind;
    if (npos < 2)
        return cli_usage(cmd, "needs create, ls or restore, and SBX");
    const char *sub = pos[0];
    bool create = strcmp(sub, "create") == 0, ls = strcmp(sub, "ls") == 0, restore = strcmp(sub, "restore") == 0;
    if (!create && !ls && !restore)
        return cli_usage(cmd, "unknown subcommand \"%s\" (create, ls, restore)", sub);
    if (npos != (restore ? 3 : 2))
        return cli_usage(cmd, restore ? "restore takes SBX and CHECKPOINT_ID" : "%s takes SBX", sub);
    if (cli_sandbox_id(cmd, pos[1]) < 0)
        return CLI_EXIT_USAGE;
    int exit_code;
    sandq_client_t *c = cli_client(cmd, NULL, json, &exit_code);
    if (!c)
        return exit_code;
    char *result = NULL, id[SANDQ_ID_MAX] = "";
    sandq_error err;
    sandq_code rc = create    ? sandq_checkpoint_create(c, pos[1], &o, id, &result, &err)
                    : ls      ? sandq_checkpoints_list(c, pos[1], &o, &result, &err)
                              : sandq_checkpoint_restore(c, pos[1], pos[2], &o, &result, &err);
    if (rc) {
        exit_code = cli_fail(cmd, &err, json, CLI_EXIT_FAIL);
    } else {
        exit_code = CLI_EXIT_OK;
        json_t *r = json_loads(result, 0, NULL);
        if (json)
            cli_print_json(json_incref(r));
        else if (create)
            printf("%s\n", id);
        else if (ls)
            print_list(r);
        json_decref(r);
    }
    sandq_free(result);
    sandq_client_free(c);
    return exit_code;
}
