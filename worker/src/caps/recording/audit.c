/* audit.c — see audit.h. */
#include "caps/recording/audit.h"

#include <stdlib.h>

#include "caps/recording/audit_row.h"
#include "caps/recording/redact.h"
#include "store/pg_store.h"

int sq_audit_event(sq_worker *w, const sq_live_sandbox *sb, const sq_request *req, const char *task_id,
                   const char *type, const json_t *data, int64_t seq, int64_t at_ms, sq_err *err)
{
    /* The secrets: the sandbox's env and the request's own (task.exec env). */
    const json_t *body = req ? req->body : NULL;
    sq_redactor r;
    if (sq_redactor_init(&r, sb->env, json_object_get(body, "env")) < 0)
        return sq_err_set(err, SQ_INTERNAL, "out of memory for an audit row");
    const char *category = "other";
    const char *req_type = req && req->type_name[0] ? req->type_name : NULL;
    json_t *detail = sq_audit_row(&r, type, data, req_type, body, &category);
    sq_redactor_free(&r);
    if (!detail)
        return 0; /* not part of the trail (a command's output: its asciicast) */
    char *text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (!text)
        return sq_err_set(err, SQ_INTERNAL, "out of memory for an audit row");
    int rc = sq_pg_audit_append(w, sb->id, seq, at_ms, category, type, req_type,
                                task_id && *task_id ? task_id : NULL,
                                req && req->request_id[0] ? req->request_id : NULL, text, err);
    free(text);
    return rc;
}
