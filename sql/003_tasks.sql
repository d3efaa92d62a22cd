-- 003: one row per task (exec, code, files, …). `summary` describes what ran
-- (command and args, or the file path) without env values.
CREATE TABLE tasks (
    id             text PRIMARY KEY CHECK (id ~ '^tsk_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    sandbox_id     text NOT NULL REFERENCES sandboxes (id),
    request_id     text NOT NULL,
    kind           text NOT NULL,
    type           text NOT NULL,
    state          text NOT NULL CHECK (state IN ('queued','running','completed','failed')),
    summary        jsonb NOT NULL DEFAULT '{}',
    exit_code      integer,
    error_code     text,
    error_message  text,
    result         jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    duration_ms    bigint
);
CREATE INDEX tasks_sandbox ON tasks (sandbox_id, created_at);
