/* audit_row.h — what the audit trail keeps of one event of a recording
 * sandbox (docs/recording.md). Pure: event and request in, row out.
 *
 * Every event of the sandbox but sandbox.task.output becomes one row (same
 * seq). The category says what kind of action it was:
 *   request   sandbox.task.queued: a task request accepted, with its parameters
 *   command   exec/code task events; the outcome row carries argv, cwd, exitCode, durationMs
 *   file      files.* task events; the outcome row carries op and path
 *   browser   task.browser events; each action's progress row carries the action
 *   agent     task.agent events and sandbox.agent.*: an agent step is its
 *             sandbox.task.progress {kind: agent, step, tool, summary}, so the
 *             agent (being built elsewhere) is recorded by emitting those
 *   artifacts sandbox.artifacts.updated (ids, paths, sizes; never URLs)
 *   rejected  request.rejected
 *   state     every other sandbox.* event (created, ready, active, paused, ended, …)
 * The request's parameters are copied without env, stdin and file content,
 * strings cut at SQ_AUDIT_STRING_MAX,
 * and everything is redacted (redact.h). */
#ifndef SQ_AUDIT_ROW_H
#define SQ_AUDIT_ROW_H

#include <jansson.h>

#include "caps/recording/redact.h"

#define SQ_AUDIT_STRING_MAX 4096

/* The row's detail (new reference) and *category; NULL when the event is not
 * recorded (sandbox.task.output) or out of memory. req_type / req_body may be
 * NULL (an event without a request). */
json_t *sq_audit_row(const sq_redactor *r, const char *event_type, const json_t *data, const char *req_type,
                     const json_t *req_body, const char **category);

#endif
