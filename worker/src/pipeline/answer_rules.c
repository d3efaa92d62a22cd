/* answer_rules.c — see answer_rules.h. */
#include "pipeline/answer_rules.h"

#include <string.h>

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

bool sq_event_answers(sq_req_type req_type, const char *event_type)
{
    if (!event_type)
        return false;
    if (is(event_type, "request.rejected"))
        return true;
    switch (req_type) {
    case SQ_REQ_SANDBOX_CREATE:
        return is(event_type, "sandbox.ready") || is(event_type, "sandbox.failed");
    case SQ_REQ_SANDBOX_KILL:
        return is(event_type, "sandbox.ended");
    case SQ_REQ_SANDBOX_PAUSE:
        /* A pause that could not freeze goes back to ready (reason pause_failed). */
        return is(event_type, "sandbox.paused") || is(event_type, "sandbox.ready");
    case SQ_REQ_SANDBOX_RESUME:
        return is(event_type, "sandbox.resumed") || is(event_type, "sandbox.failed");
    /* issue 14: each hand-off step and preview.url has its own event */
    case SQ_REQ_HANDOFF_REQUEST:
        return is(event_type, "sandbox.handoff.requested");
    case SQ_REQ_HANDOFF_ACCEPT:
        return is(event_type, "sandbox.handoff.accepted");
    case SQ_REQ_HANDOFF_COMPLETE:
        return is(event_type, "sandbox.handoff.completed");
    case SQ_REQ_HANDOFF_CANCEL:
        return is(event_type, "sandbox.handoff.cancelled");
    case SQ_REQ_PREVIEW_URL:
        return is(event_type, "sandbox.preview.url");
    case SQ_REQ_SANDBOX_SET_TIMEOUT:
    case SQ_REQ_UNKNOWN:
    case SQ_REQ__COUNT:
        return false; /* answered by rejection only */
    default:
        return is(event_type, "sandbox.task.completed") || is(event_type, "sandbox.task.failed");
    }
}

/* If value is "<tag>:<run>…", the run's end (at ':' or the string's end). */
static const char *run_end(const char *value, char tag)
{
    if (value[0] != tag || value[1] != ':')
        return NULL;
    const char *run = value + 2;
    const char *end = strchr(run, ':');
    return end ? end : run + strlen(run);
}

static bool run_is(const char *value, const char *end, const char *mine)
{
    size_t n = (size_t)(end - (value + 2));
    return n > 0 && strlen(mine) == n && memcmp(value + 2, mine, n) == 0;
}

sq_dedupe sq_dedupe_classify(const char *value, const char *mine, const char **answer)
{
    *answer = NULL;
    if (!value)
        return SQ_DEDUPE_NEW;
    if (is(value, "done"))
        return SQ_DEDUPE_DONE;
    const char *end = run_end(value, 'p');
    if (end)
        return *end == '\0' && run_is(value, end, mine) ? SQ_DEDUPE_IN_FLIGHT : SQ_DEDUPE_NEW;
    end = run_end(value, 'a');
    if (end && *end == ':' && end[1] != '\0' && end > value + 2) {
        if (run_is(value, end, mine))
            return SQ_DEDUPE_IN_FLIGHT;
        *answer = end + 1;
        return SQ_DEDUPE_ANSWERED;
    }
    return SQ_DEDUPE_NEW;
}
