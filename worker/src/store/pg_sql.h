/* pg_sql.h — the statements the worker queues on the history writer
 * (pg_store.c, webhook_outbox.c), kept here so the unit tests of multirow.h
 * and batch_order.h check the real texts: every INSERT can be batched into a
 * multi-row statement, and every statement has the rank that lets a batch
 * bring its kind together. A statement that stopped qualifying would quietly
 * cost one statement per row again. */
#ifndef SQ_PG_SQL_H
#define SQ_PG_SQL_H

#define SQ_SQL_SANDBOX_INSERT                                                                                   \
    "INSERT INTO sandboxes (id, tenant, region, worker_id, state, runtime, network, reply_to, "                 \
    "create_request_id, capabilities, limits, metadata) "                                                      \
    "VALUES ($1,$2,$3,$4,'queued',$5,$6,$7,$8,$9::jsonb,$10::jsonb,$11::jsonb) "                                \
    "ON CONFLICT (id) DO NOTHING"
#define SQ_SQL_SANDBOX_INSERT_PARAMS 11

#define SQ_SQL_TASK_INSERT                                                                                      \
    "INSERT INTO tasks (id, sandbox_id, request_id, kind, type, state, summary) "                              \
    "VALUES ($1,$2,$3,$4,$5,'queued',$6::jsonb) ON CONFLICT (id) DO NOTHING"
#define SQ_SQL_TASK_INSERT_PARAMS 6

#define SQ_SQL_EVENT_INSERT                                                                                     \
    "INSERT INTO events (event_id, sandbox_id, seq, type, task_id, request_id, tenant, worker_id, at, "       \
    "envelope) VALUES ($1,$2,$3::bigint,$4,$5,$6,$7,$8,to_timestamp($9::bigint / 1000.0),$10::jsonb) "      \
    "ON CONFLICT (event_id) DO NOTHING"
#define SQ_SQL_EVENT_INSERT_PARAMS 10

/* 015: a recording sandbox's audit row (caps/recording/audit.c); a retry of the
 * same event writes nothing twice. */
#define SQ_SQL_AUDIT_INSERT                                                                                     \
    "INSERT INTO audit (sandbox_id, seq, at, category, event_type, request_type, task_id, request_id, detail) " \
    "VALUES ($1,$2::bigint,to_timestamp($3::bigint / 1000.0),$4,$5,$6,$7,$8,$9::jsonb) "                      \
    "ON CONFLICT (sandbox_id, seq) DO NOTHING"
#define SQ_SQL_AUDIT_INSERT_PARAMS 9

#define SQ_SQL_REQUEST_INSERT                                                                                   \
    "INSERT INTO requests (request_id, sandbox_id, type, outcome) VALUES ($1,$2,$3,$4) "                       \
    "ON CONFLICT (request_id) DO NOTHING"
#define SQ_SQL_REQUEST_INSERT_PARAMS 4

#define SQ_SQL_WEBHOOK_ENDPOINT_INSERT                                                                          \
    "INSERT INTO webhook_endpoints (id, sandbox_id, tenant, url, secret_sealed, event_types, "                 \
    "description) VALUES ($1, $2, $3, $4, $5, "                                                                 \
    "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), 'sandbox.create') "                                    \
    "ON CONFLICT (sandbox_id) WHERE sandbox_id IS NOT NULL DO NOTHING"
#define SQ_SQL_WEBHOOK_ENDPOINT_INSERT_PARAMS 6

#define SQ_SQL_SANDBOX_STATE                                                                                    \
    "UPDATE sandboxes SET state = $2, updated_at = now(), worker_id = $5, "                                    \
    "failure_reason = COALESCE($3, failure_reason), failure_message = COALESCE($4, failure_message), "         \
    "ready_at = CASE WHEN $2 = 'ready' AND ready_at IS NULL THEN now() ELSE ready_at END, "                    \
    "ended_at = CASE WHEN $2 IN ('ended','failed') THEN now() ELSE ended_at END "                              \
    "WHERE id = $1"
#define SQ_SQL_SANDBOX_STATE_PARAMS 5

#define SQ_SQL_SANDBOX_LIMITS "UPDATE sandboxes SET limits = $2::jsonb, updated_at = now() WHERE id = $1"
#define SQ_SQL_SANDBOX_LIMITS_PARAMS 2

#define SQ_SQL_TASK_STARTED "UPDATE tasks SET state = 'running', started_at = now() WHERE id = $1"
#define SQ_SQL_TASK_STARTED_PARAMS 1

#define SQ_SQL_TASK_FINISHED                                                                                    \
    "UPDATE tasks SET state = $2, exit_code = $3::int, error_code = $4, error_message = $5, "                  \
    "result = $6::jsonb, duration_ms = $7::bigint, finished_at = now() WHERE id = $1"
#define SQ_SQL_TASK_FINISHED_PARAMS 7

/* issue 12: a task.agent's redacted transcript (sql/012). A retried
 * request's second write of the same task keeps the first. */
#define SQ_SQL_AGENT_TRANSCRIPT                                                                                 \
    "INSERT INTO agent_transcripts (task_id, sandbox_id, agent, model, steps, transcript) "                    \
    "VALUES ($1,$2,$3,$4,$5::int,$6::jsonb) ON CONFLICT (task_id) DO NOTHING"
#define SQ_SQL_AGENT_TRANSCRIPT_PARAMS 6

/* A row refused on its merits, kept (store/writer.c, sql/011). Not queued:
 * the writer runs it itself, at once, in place of the refused row. */
#define SQ_SQL_QUARANTINE_INSERT                                                                                \
    "INSERT INTO history_quarantine (worker_id, sqlstate, error, statement, params) "                          \
    "VALUES ($1, $2, $3, $4, $5::jsonb)"
#define SQ_SQL_QUARANTINE_INSERT_PARAMS 5

/* A hand-off's row, rewritten on every status change (sql/016_handoffs.sql). */
#define SQ_SQL_HANDOFF_UPSERT                                                                                   \
    "INSERT INTO handoffs (handoff_id, sandbox_id, status, reason, requested_by, controller, control_mode, "    \
    "data, requested_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8::jsonb, "                                 \
    "to_timestamp($9::bigint / 1000.0), to_timestamp($10::bigint / 1000.0)) "                                 \
    "ON CONFLICT (handoff_id) DO UPDATE SET status = EXCLUDED.status, controller = EXCLUDED.controller, "      \
    "control_mode = EXCLUDED.control_mode, data = EXCLUDED.data, updated_at = now()"
#define SQ_SQL_HANDOFF_UPSERT_PARAMS 10

#endif
