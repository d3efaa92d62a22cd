/* pg_store.h — history in PostgreSQL: sandboxes, tasks, the append-only events
 * log and the requests ledger. Writes are queued to the history writer
 * (writer.h) and committed in batches; reads use pooled connections (pool.h). */
#ifndef SQ_PG_STORE_H
#define SQ_PG_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "worker.h"


/* caps: the capabilities as stored (secrets sealed, lifecycle/egress.h); NULL = the body's. */
int sq_pg_sandbox_insert(sq_worker *w, const sq_live_sandbox *sb, const sq_request *create, const json_t *caps,
                         sq_err *err);
/* reason/message may be NULL. Sets ready_at / ended_at as the state implies. */
int sq_pg_sandbox_state(sq_worker *w, const char *sandbox_id, sq_state state, const char *reason,
                        const char *message, sq_err *err);
/* The limits the sandbox actually got (defaults filled in). */
int sq_pg_sandbox_limits(sq_worker *w, const char *sandbox_id, const json_t *limits, sq_err *err);
int sq_pg_task_insert(sq_worker *w, const char *task_id, const char *sandbox_id, const sq_request *req,
                      const char *kind, const json_t *summary, sq_err *err);
int sq_pg_task_started(sq_worker *w, const char *task_id, sq_err *err);
/* error_code NULL for completed tasks; exit_code < 0 for none; result may be NULL. */
int sq_pg_task_finished(sq_worker *w, const char *task_id, const char *error_code, const char *error_message,
                        int exit_code, const json_t *result, int64_t duration_ms, sq_err *err);
/* envelope_text: the envelope as JSON text (as published), dumped once by the caller. */
/* issue 12: a task.agent's transcript, already redacted (caps/agent/loop.c). */
int sq_pg_agent_transcript(sq_worker *w, const char *task_id, const char *sandbox_id, const char *agent,
                           const char *model, const char *steps, const char *transcript, sq_err *err);
int sq_pg_event_append(sq_worker *w, const json_t *envelope, const char *envelope_text, sq_err *err);
/* 015: one audit row (caps/recording/audit.h); detail_text is JSON, already redacted. */
int sq_pg_audit_append(sq_worker *w, const char *sandbox_id, int64_t seq, int64_t at_ms, const char *category,
                       const char *event_type, const char *request_type, const char *task_id,
                       const char *request_id, const char *detail_text, sq_err *err);
/* A hand-off's row (sql/016_handoffs.sql): data is the hand-off as its event carries it. */
int sq_pg_handoff_upsert(sq_worker *w, const char *sandbox_id, const json_t *data, sq_err *err);
int sq_pg_request_record(sq_worker *w, const char *request_id, const char *sandbox_id, const char *type,
                         const char *outcome, sq_err *err);

/* Whether a request id is in the requests ledger (the durable half of dedupe,
 * consulted when Redis has no key for it). */
int sq_pg_request_known(sq_worker *w, const char *request_id, bool *known, sq_err *err);

#endif
