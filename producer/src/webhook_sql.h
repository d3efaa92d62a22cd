/* webhook_sql.h — every statement libsandq's webhook administration (webhooks.c)
 * runs against the worker's tables (sql/007, sql/008), in one place, each with the
 * number of parameters it takes: tests/unit/test_webhook_sql.c checks the texts
 * against those counts and the NOTIFY channel against the migrations' triggers.
 *
 * The worker owns the delivery lease (lease_owner, lease_until, next_attempt_at);
 * the one statement here that touches it, REDELIVER, only releases it, as a worker
 * whose lease expired would: the delivery becomes due now for whichever worker
 * claims it next. */
#ifndef SQP_WEBHOOK_SQL_H
#define SQP_WEBHOOK_SQL_H

#include "sq/webhook_notify.h"

#define SQP_WH_SQL_ADD                                                                                          \
    "INSERT INTO webhook_endpoints (id, tenant, url, secret_sealed, event_types, description) "               \
    "VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6)"
#define SQP_WH_SQL_ADD_PARAMS 6

/* Tenant and operator endpoints; a sandbox's own endpoint (sandbox_id set) is not listed. */
#define SQP_WH_SQL_LIST                                                                                         \
    "SELECT id, COALESCE(sandbox_id, '') AS sandbox, COALESCE(tenant, '*') AS tenant, url,"                    \
    "       CASE WHEN cardinality(event_types) = 0 THEN '*' ELSE array_to_string(event_types, ',') END"        \
    "         AS event_types,"                                                                                  \
    "       CASE WHEN enabled THEN 'enabled' ELSE 'disabled: ' || COALESCE(disabled_reason, '') END"           \
    "         AS status,"                                                                                       \
    "       secret_prev_sealed IS NOT NULL AS rotating, COALESCE(description, '') AS description "             \
    "FROM webhook_endpoints WHERE sandbox_id IS NULL ORDER BY created_at"
#define SQP_WH_SQL_LIST_PARAMS 0

/* rm: both in one transaction, so an endpoint is never gone while its pending
 * deliveries still wait for it (nor failed while it stays). */
#define SQP_WH_SQL_RM_FAIL_PENDING                                                                              \
    "UPDATE webhook_deliveries SET state = 'failed', last_error = 'endpoint removed', "                         \
    "updated_at = now() WHERE endpoint_id = $1 AND state = 'pending'"
#define SQP_WH_SQL_RM_FAIL_PENDING_PARAMS 1
#define SQP_WH_SQL_RM_DELETE "DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id"
#define SQP_WH_SQL_RM_DELETE_PARAMS 1

#define SQP_WH_SQL_ROTATE                                                                                       \
    "UPDATE webhook_endpoints SET secret_prev_sealed = secret_sealed, secret_sealed = $2, "                    \
    "updated_at = now() WHERE id = $1 AND sandbox_id IS NULL RETURNING id"
#define SQP_WH_SQL_ROTATE_PARAMS 2

#define SQP_WH_SQL_ROTATE_DONE                                                                                  \
    "UPDATE webhook_endpoints SET secret_prev_sealed = NULL, updated_at = now() WHERE id = $1 RETURNING id"
#define SQP_WH_SQL_ROTATE_DONE_PARAMS 1

#define SQP_WH_SQL_ENABLE                                                                                       \
    "UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, updated_at = now() "                 \
    "WHERE id = $1 RETURNING id"
#define SQP_WH_SQL_ENABLE_PARAMS 1

/* A webhook.test event goes through the real outbox: one delivery row. */
#define SQP_WH_SQL_TEST                                                                                         \
    "INSERT INTO webhook_deliveries (event_id, endpoint_id, endpoint_url, event_type, tenant, payload) "       \
    "SELECT $1, id, url, 'webhook.test', tenant, $3 FROM webhook_endpoints WHERE id = $2 RETURNING id"
#define SQP_WH_SQL_TEST_PARAMS 3

#define SQP_WH_SQL_DELIVERY                                                                                     \
    "SELECT id AS delivery, event_id, state, attempts, last_status AS status, last_latency_ms AS latency_ms,"  \
    "       last_error AS error FROM webhook_deliveries WHERE id = $1::bigint"
#define SQP_WH_SQL_DELIVERY_PARAMS 1

#define SQP_WH_SQL_DELIVERIES                                                                                   \
    "SELECT id, event_id, event_type, endpoint_id, state, attempts, last_status AS status,"                    \
    "       last_latency_ms AS latency_ms,"                                                                     \
    "       to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS next_attempt,"   \
    "       last_error AS error "                                                                               \
    "FROM webhook_deliveries WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR endpoint_id = $2) " \
    "ORDER BY id DESC LIMIT $3::int"
#define SQP_WH_SQL_DELIVERIES_PARAMS 3

#define SQP_WH_SQL_REDELIVER                                                                                    \
    "UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = now(), lease_owner = NULL,"          \
    "       lease_until = NULL, updated_at = now() "                                                            \
    "FROM webhook_endpoints e WHERE d.id = $1::bigint AND e.id = d.endpoint_id "                               \
    "RETURNING d.id, e.enabled"
#define SQP_WH_SQL_REDELIVER_PARAMS 1

/* After enable, test and redeliver: wake the workers' delivery threads now rather
 * than at their next poll. */
#define SQP_WH_SQL_NOTIFY "NOTIFY " SQ_WH_NOTIFY_CHANNEL
#define SQP_WH_SQL_NOTIFY_PARAMS 0

#endif
