/* uts.c — the UTS namespace: the sandbox's own hostname.
 *
 * The hostname is the sandbox id when it is a plausible host name (what a user
 * sees in a shell prompt), else "sandbox". */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "sandbox_int.h"

static bool usable_hostname(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

int sq_plan_hostname(struct sq_setup *s, sq_err *err)
{
    (void)err;
    sq_strlcpy(s->hostname, usable_hostname(s->opts->sandbox_id) ? s->opts->sandbox_id : "sandbox",
               sizeof s->hostname);
    return 0;
}

int sq_child_hostname(struct sq_child *c)
{
    const char *h = c->setup->hostname;
    if (sethostname(h, strlen(h)) < 0)
        return sq_child_fail(c, "sethostname", NULL);
    return 0;
}
