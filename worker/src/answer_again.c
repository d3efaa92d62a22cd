/* answer_again.c — see answer_again.h. */
#include "answer_again.h"

#include <string.h>

#include "notify/emit.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "sq/log.h"

int sq_answer_again(sq_worker *w, const char *envelope, sq_err *err)
{
    json_error_t jerr;
    json_t *ev = json_loads(envelope, 0, &jerr);
    if (!ev)
        return sq_err_set(err, SQ_INTERNAL, "recorded answer is not JSON: %s", jerr.text);
    const char *sandbox_id = json_string_value(json_object_get(ev, "sandboxId"));
    /* The sandbox's replyTo got the first copy; it gets this one too. */
    sq_redis_sandbox known = {0};
    sq_err ignore;
    if (sandbox_id)
        sq_redis_sandbox_lookup(w, sandbox_id, &known, &ignore);
    int rc = sq_pg_event_append(w, ev, envelope, err);
    if (rc == 0)
        rc = sq_publish_event(w, sandbox_id, sandbox_id ? strlen(sandbox_id) : 0, envelope, known.reply_to, err);
    sq_log_ctx lc = {.sandbox_id = sandbox_id,
                     .request_id = json_string_value(json_object_get(ev, "requestId"))};
    sq_info(&lc, "published again the %s its previous owner answered with",
            json_string_value(json_object_get(ev, "type")));
    json_decref(ev);
    return rc;
}
