-- 002: one row per sandbox, updated on every lifecycle transition.
-- The sandbox's env is deliberately absent: env values are secrets and never
-- reach PostgreSQL.
CREATE TABLE sandboxes (
    id               text PRIMARY KEY CHECK (id ~ '^sbx_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    tenant           text NOT NULL DEFAULT 'default',
    region           text,
    worker_id        text,
    state            text NOT NULL CHECK (state IN ('queued','assigning','ready','active','pausing',
                                                    'paused','ending','ended','failed')),
    runtime          text NOT NULL DEFAULT 'base',
    network          text NOT NULL DEFAULT 'none',
    reply_to         text,
    create_request_id text NOT NULL,
    capabilities     jsonb NOT NULL DEFAULT '{}',
    limits           jsonb NOT NULL DEFAULT '{}',
    metadata         jsonb NOT NULL DEFAULT '{}',
    failure_reason   text,
    failure_message  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    ready_at         timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz
);
CREATE INDEX sandboxes_tenant_state ON sandboxes (tenant, state);
CREATE INDEX sandboxes_created_at ON sandboxes (created_at);
