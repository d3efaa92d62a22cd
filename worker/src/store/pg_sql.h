/* pg_sql.h — the INSERT statements of the history (pg_store.c), kept here so
 * the unit test of multirow.h checks every one of them can be batched into a
 * multi-row statement by the history writer: a statement that stops
 * qualifying would quietly cost one statement per row again. */
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

#define SQ_SQL_REQUEST_INSERT                                                                                   \
    "INSERT INTO requests (request_id, sandbox_id, type, outcome) VALUES ($1,$2,$3,$4) "                       \
    "ON CONFLICT (request_id) DO NOTHING"
#define SQ_SQL_REQUEST_INSERT_PARAMS 4

#endif
