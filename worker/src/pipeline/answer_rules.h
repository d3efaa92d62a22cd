/* answer_rules.h — the pure half of the answer module (answer.h): which
 * event answers a request, and what a request's dedupe key says about it.
 * No I/O; unit-tested (tests/unit/test_answer.c). */
#ifndef SQ_ANSWER_RULES_H
#define SQ_ANSWER_RULES_H

#include <stdbool.h>

#include "sq/protocol.h"

/* True when an event of event_type, emitted for a request of req_type, is
 * that request's answer: a task's completed/failed, a create's ready/failed, a
 * kill's ended, a pause's paused (or ready again when it failed), a resume's
 * resumed/failed, and request.rejected for any request. Events on the way
 * (sandbox.task.queued, sandbox.task.started, output, sandbox.active, the
 * sandbox.ready that follows a task) are not. */
bool sq_event_answers(sq_req_type req_type, const char *event_type);

/* What the value of a request's dedupe key means to the worker run `mine`:
 *   (absent)        NEW — claim it
 *   "done"          DONE — finished and durable; acknowledge without effect
 *   "p:<run>"       being handled by <run>: IN_FLIGHT if <run> is mine, else
 *                   NEW (that run died before answering: redo the request)
 *   "a:<run>:<env>" answered by <run> with event envelope <env>: IN_FLIGHT if
 *                   <run> is mine, else ANSWERED (*answer points at <env>)
 * Anything else is treated as NEW. */
typedef enum { SQ_DEDUPE_NEW, SQ_DEDUPE_DONE, SQ_DEDUPE_IN_FLIGHT, SQ_DEDUPE_ANSWERED } sq_dedupe;
sq_dedupe sq_dedupe_classify(const char *value, const char *mine, const char **answer);

#endif
