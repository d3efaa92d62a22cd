/* webhook_notify.h — the PostgreSQL NOTIFY channel that wakes webhook delivery.
 *
 * The outbox trigger (sql/008, sql/010: pg_notify('sandq_webhooks', '')), every
 * worker's delivery thread (LISTEN) and libsandq's endpoint administration (NOTIFY
 * after enable, test and redeliver) must agree on it, so the C side spells it once,
 * here; tests/unit/test_webhook_sql.c checks that the migrations use the same name
 * (SQL files cannot include a C header). */
#ifndef SQ_WEBHOOK_NOTIFY_H
#define SQ_WEBHOOK_NOTIFY_H

#define SQ_WH_NOTIFY_CHANNEL "sandq_webhooks"

#endif
