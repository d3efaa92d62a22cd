/* args.c — command-line values shared by the commands: durations, sizes, numbers,
 * KEY=VALUE lists, sandbox ids and SBX:path arguments. The parsing itself is pure and
 * lives in producer/src/units.c (unit-tested); this file adds the error messages. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sq/ids.h"
#include "units.h"

int cli_list_push(cli_list *l, const char *s)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

void cli_list_free(cli_list *l)
{
    free(l->v);
    *l = (cli_list){0};
}

const char *const *cli_list_items(const cli_list *l) { return l->n ? l->v : NULL; }

int cli_duration(const char *cmd, const char *flag, const char *val, int64_t *out_ms)
{
    if (sqp_parse_duration_ms(val, out_ms) < 0 || *out_ms <= 0) {
        cli_usage(cmd, "bad --%s value \"%s\": expected a duration like 500ms, 30s, 30m, 2h", flag, val);
        return -1;
    }
    return 0;
}

int cli_size_mb(const char *cmd, const char *flag, const char *val, int64_t *out_mb)
{
    uint64_t bytes;
    if (sqp_parse_size_bytes(val, 1ULL << 20, &bytes) < 0 || bytes < (1ULL << 20)) {
        cli_usage(cmd, "bad --%s value \"%s\": expected a size like 512M or 2G (at least 1M)", flag, val);
        return -1;
    }
    *out_mb = (int64_t)((bytes + (1ULL << 20) - 1) >> 20);
    return 0;
}

int cli_number(const char *cmd, const char *flag, const char *val, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(d) || d < min || d > max) {
        cli_usage(cmd, "bad --%s value \"%s\": expected a number from %g to %g", flag, val, min, max);
        return -1;
    }
    *out = d;
    return 0;
}

int cli_kv(const char *cmd, const char *flag, const char *val, cli_list *l)
{
    if (sqp_kv_key_len(val) == 0) {
        cli_usage(cmd, "bad --%s value \"%s\": expected KEY=VALUE", flag, val);
        return -1;
    }
    if (cli_list_push(l, val) < 0) {
        cli_usage(cmd, "out of memory");
        return -1;
    }
    return 0;
}

int cli_remote(const char *cmd, const char *arg, char id[SANDQ_ID_MAX], const char **path)
{
    if (!sqp_split_remote(arg, id, path)) {
        cli_usage(cmd, "\"%s\" is not SANDBOX:PATH (e.g. sbx_01JD…:/workspace/file.txt)", arg);
        return -1;
    }
    return 0;
}

int cli_sandbox_id(const char *cmd, const char *arg)
{
    if (!arg || !sq_id_valid(arg, "sbx")) {
        cli_usage(cmd, "\"%s\" is not a sandbox id (sbx_ followed by a 26-character ULID)", arg ? arg : "");
        return -1;
    }
    return 0;
}

const char *cli_sandbox_operands(const char *cmd, int argc, char **argv, int want, const char *missing_second)
{
    int have = argc - optind;
    if (have != want) {
        cli_usage(cmd, "%s", have < 1 ? "missing sandbox id" : have < want ? missing_second : "too many arguments");
        return NULL;
    }
    if (cli_sandbox_id(cmd, argv[optind]) < 0)
        return NULL;
    return argv[optind];
}

const char *cli_bad_option_name(char **argv)
{
    /* A short option inside a cluster ("-la") leaves optind on its word: name it by
     * optopt. A long one has optopt 0 and has been consumed. */
    static char shortopt[3];
    if (optopt) {
        shortopt[0] = '-';
        shortopt[1] = (char)optopt;
        return shortopt;
    }
    return optind > 0 ? argv[optind - 1] : "?";
}

int cli_bad_option(const char *cmd, int ch, char **argv)
{
    const char *arg = cli_bad_option_name(argv);
    if (ch == ':')
        return cli_usage(cmd, "option %s needs a value", arg);
    return cli_usage(cmd, "unknown option %s", arg);
}
