/* parse_lines.c — one request per stdin line through sq_request_parse; prints
 * "<outcome>\t<code>\t<field>" per line (outcome: 0 ok, 1 not an envelope,
 * 2 rejected). The C half of schema_diff.py. */
#include <stdio.h>
#include <stdlib.h>

#include "sq/protocol.h"

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        sq_request req;
        sq_err err;
        sq_parse_outcome o = sq_request_parse(line, (size_t)n, (size_t)1 << 22, &req, &err);
        printf("%d\t%s\t%s\n", (int)o, o == SQ_PARSE_OK ? "ok" : sq_code_name(err.code), err.field);
        sq_request_free(&req);
    }
    free(line);
    return 0;
}
