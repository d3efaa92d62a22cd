/* audit.h — the audit trail of a recording sandbox (sql/015_audit.sql,
 * docs/recording.md): notify/emit.c calls sq_audit_event for every event of a
 * sandbox created with capabilities.recording.enabled; the row (audit_row.h,
 * redacted) is queued to the history writer right after the event's own row,
 * so it is durable before the request counts as done, and ordered by the
 * event's seq. */
#ifndef SQ_AUDIT_H
#define SQ_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "worker.h"

int sq_audit_event(sq_worker *w, const sq_live_sandbox *sb, const sq_request *req, const char *task_id,
                   const char *type, const json_t *data, int64_t seq, int64_t at_ms, sq_err *err);

#endif
