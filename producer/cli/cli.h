/* cli.h — what the sandq CLI's command files share: exit codes, argument helpers
 * (args.c), output and error reporting (output.c), and the command entry points. */
#ifndef SANDQ_CLI_H
#define SANDQ_CLI_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandq.h"

/* Exit codes (docs/cli.md). `exec` exits with the command's own code on success. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1          /* the operation failed; the reason is on stderr */
#define CLI_EXIT_USAGE 2         /* bad command line */
#define CLI_EXIT_TIMEOUT 124     /* no answer in time (wait_timeout), or exec's task timed out */
#define CLI_EXIT_EXEC_FAIL 125   /* exec: sandq itself failed (the command's codes are 0-123, 126-…) */
#define CLI_EXIT_INTERRUPTED 130 /* Ctrl-C */

/* ---- args.c ---- */

/* A growable NULL-terminated list of strings (for repeatable --env K=V). */
typedef struct cli_list {
    const char **v;
    size_t n, cap;
} cli_list;

int cli_list_push(cli_list *l, const char *s);
void cli_list_free(cli_list *l);
/* The list as a NULL-terminated array, or NULL if empty. */
const char *const *cli_list_items(const cli_list *l);

/* Parse helpers: on a bad value print "sandq: CMD: bad --FLAG value …" and return -1. */
int cli_duration(const char *cmd, const char *flag, const char *val, int64_t *out_ms);
int cli_size_mb(const char *cmd, const char *flag, const char *val, int64_t *out_mb);
int cli_number(const char *cmd, const char *flag, const char *val, double min, double max, double *out);
int cli_kv(const char *cmd, const char *flag, const char *val, cli_list *l);
/* "SBX:path" → id and path; prints a usage error and returns -1 if malformed. */
int cli_remote(const char *cmd, const char *arg, char id[SANDQ_ID_MAX], const char **path);
/* A sandbox id argument; prints a usage error and returns -1 if malformed. */
int cli_sandbox_id(const char *cmd, const char *arg);
/* The operands after the options of a command on one sandbox: exactly `want`
 * (1 or 2) words, the first a sandbox id. Returns that id, or NULL after printing
 * the usage error ("missing sandbox id", missing_second when only the id is
 * there, "too many arguments", or a malformed id): return CLI_EXIT_USAGE then. */
const char *cli_sandbox_operands(const char *cmd, int argc, char **argv, int want, const char *missing_second);
/* After getopt_long (optstring starting with ':', opterr 0) returned '?' or ':':
 * print which option was wrong; returns CLI_EXIT_USAGE. */
int cli_bad_option(const char *cmd, int ch, char **argv);
const char *cli_bad_option_name(char **argv);
/* Reset getopt for a command's argv and silence its own messages. */
#define CLI_GETOPT_RESET() (optind = 0, opterr = 0)

/* ---- output.c ---- */

extern volatile sig_atomic_t cli_interrupted;
/* SIGINT/SIGTERM set cli_interrupted instead of killing the process. */
void cli_catch_interrupts(void);

bool cli_stdout_tty(void);
/* "sandq: CMD: CODE: message" on stderr (and {"error":…} on stdout with json);
 * returns the exit code for err (CLI_EXIT_TIMEOUT for timeouts, else fail_code). */
int cli_fail(const char *cmd, const sandq_error *err, bool json, int fail_code);
/* "sandq: CMD: message" and a hint to --help on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A local failure (file I/O): "sandq: CMD: io_error: message"; returns CLI_EXIT_FAIL. */
int cli_io_fail(const char *cmd, bool json, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print o (stolen) as one compact JSON line on stdout. */
void cli_print_json(json_t *o);
/* A client from the environment (after .stack/env); NULL after printing the reason. */
sandq_client_t *cli_client(const char *cmd, const char *region, bool json, int *exit_code);
/* Write all of buf to fd; -1 on error. */
int cli_write_all(int fd, const void *buf, size_t len);

/* ---- commands: argv[0] is the command name ---- */
int cmd_launch(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_files(int argc, char **argv);
int cmd_lifecycle(int argc, char **argv); /* kill, pause, resume, set-timeout */
int cmd_cancel(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_state(int argc, char **argv);     /* get, list, history */
int cmd_batch(int argc, char **argv);
int cmd_webhooks(int argc, char **argv);
int cmd_agent(int argc, char **argv);      /* prompt SBX TEXT, agent transcript TASK */
int cmd_browser(int argc, char **argv);    /* browser SBX ACTION … */
int cmd_checkpoint(int argc, char **argv); /* checkpoint create|ls|restore */
int cmd_artifacts(int argc, char **argv);  /* artifacts ls|get|url */
int cmd_doc(int argc, char **argv);        /* doc convert SBX IN --to FMT … */
int cmd_handoff(int argc, char **argv);    /* handoff request|accept|complete|cancel|ls */
int cmd_preview(int argc, char **argv);    /* preview SBX [--control] (cmd_handoff.c) */

#endif
