-- 018: a persisted sandbox's create-time spec, for the worker that brings it
-- up again (issue 13, docs/persistence.md). `spec_sealed` is the create
-- request's body (env included) sealed with AES-256-GCM under the worker key
-- (SANDQ_WEBHOOK_SECRET_KEY), the sandbox id as associated data: never in
-- clear. `checkpoint_id` is the checkpoint it is brought up from; `reason`
-- why it was persisted (paused, worker_drained).
CREATE TABLE sandbox_specs (
    sandbox_id     text PRIMARY KEY REFERENCES sandboxes (id) ON DELETE CASCADE,
    spec_sealed    text NOT NULL CHECK (spec_sealed LIKE 'v1:%'),
    checkpoint_id  text,
    reason         text,
    persisted_at   timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
