-- 007: the webhook outbox. A row per (event, endpoint); workers claim due rows
-- with FOR UPDATE SKIP LOCKED, so a crash loses nothing and no delivery runs
-- twice at once.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    event_id         text NOT NULL,
    sandbox_id       text,
    endpoint_url     text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,
    last_error       text,
    last_latency_ms  integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_url)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
