-- 006: outputs exported from sandboxes, and workspace checkpoints.
CREATE TABLE artifacts (
    id            text PRIMARY KEY CHECK (id ~ '^art_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    sandbox_id    text NOT NULL REFERENCES sandboxes (id),
    task_id       text,
    path          text NOT NULL,
    size_bytes    bigint NOT NULL,
    sha256        text NOT NULL,
    content_type  text NOT NULL DEFAULT 'application/octet-stream',
    storage_key   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_sandbox ON artifacts (sandbox_id);

CREATE TABLE checkpoints (
    id            text PRIMARY KEY CHECK (id ~ '^chk_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    sandbox_id    text NOT NULL REFERENCES sandboxes (id),
    label         text,
    size_bytes    bigint NOT NULL,
    storage_key   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX checkpoints_sandbox ON checkpoints (sandbox_id);
