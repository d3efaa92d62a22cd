/* handoff_rules.c — see handoff_rules.h. */
#include "caps/agent/handoff_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX 4096
#define RESUME_MAX 65536
#define EXPIRES_MAX 2592000000LL /* schema/common.json timeoutMs: 30 days */

static const char *const reasons[] = {"mfa", "captcha", "approval", "login_failed", "ambiguous_ui",
                                      "file_download", "custom", NULL};

json_t *sq_agent_handoff_body(const json_t *args, const char *handoff_id, char *why, size_t why_size)
{
    const char *reason = json_string_value(json_object_get(args, "reason"));
    const char *message = json_string_value(json_object_get(args, "message"));
    const json_t *resume = json_object_get(args, "resumePrompt");
    const json_t *expires = json_object_get(args, "expiresInMs");
    bool known = false;
    for (const char *const *r = reasons; *r && reason; r++)
        known = known || strcmp(*r, reason) == 0;
    if (!known) {
        snprintf(why, why_size,
                 "Error: request_handoff's reason must be one of mfa, captcha, approval, login_failed, ambiguous_ui, "
                 "file_download, custom.");
        return NULL;
    }
    if (!message || !*message || strlen(message) > MESSAGE_MAX) {
        snprintf(why, why_size, "Error: request_handoff's message must be a non-empty string of at most %d bytes.",
                 MESSAGE_MAX);
        return NULL;
    }
    if (resume && !json_is_null(resume) && (!json_is_string(resume) || json_string_length(resume) > RESUME_MAX)) {
        snprintf(why, why_size, "Error: request_handoff's resumePrompt must be a string of at most %d bytes.",
                 RESUME_MAX);
        return NULL;
    }
    if (expires && !json_is_null(expires) &&
        (!json_is_integer(expires) || json_integer_value(expires) < 1 || json_integer_value(expires) > EXPIRES_MAX)) {
        snprintf(why, why_size,
                 "Error: request_handoff's expiresInMs must be a positive integer of at most %lld (30 days).",
                 (long long)EXPIRES_MAX);
        return NULL;
    }
    json_t *body = json_pack("{s:s, s:s, s:s}", "handoffId", handoff_id, "reason", reason, "message", message);
    if (body && json_is_string(resume))
        json_object_set(body, "resumePrompt", (json_t *)resume);
    if (body && json_is_integer(expires))
        json_object_set(body, "expiresInMs", (json_t *)expires);
    return body;
}

static char *fmt_alloc(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s%s", a, b, c, d);
    return s;
}

char *sq_agent_handoff_result(sq_handoff_status status, const json_t *data)
{
    const char *note = json_string_value(json_object_get(data, "note"));
    const char *resume = json_string_value(json_object_get(data, "resumePrompt"));
    switch (status) {
    case SQ_HANDOFF_COMPLETED:
        return fmt_alloc("The person completed the hand-off and gave control of the browser back to you.\n"
                         "Their note: ",
                         note && *note ? note : "(none)", "\n\nNow resume: ",
                         resume && *resume ? resume : "continue the task from where the person left the page.");
    case SQ_HANDOFF_CANCELLED:
        return fmt_alloc("The hand-off was cancelled: nobody will act on it, and control of the browser is yours "
                         "again. Continue the task without it if you can; otherwise answer saying what is blocked.",
                         "", "", "");
    case SQ_HANDOFF_EXPIRED:
        return fmt_alloc("The hand-off expired: nobody completed it in time, and control of the browser is yours "
                         "again (the page may be as a person left it). Continue the task without it if you can; "
                         "otherwise answer saying what is blocked.",
                         "", "", "");
    default:
        return fmt_alloc("The hand-off is still open.", "", "", "");
    }
}
