-- 012: hand-offs (docs/handoff.md). One row per hand-off, rewritten on every
-- status change (pending → accepted → completed, or cancelled / expired); the
-- change itself is also a sandbox.handoff.* row in `events` (and so a webhook).
-- `data` is the hand-off exactly as its latest event carried it.
-- (Numbered 012 on branch wip/handoff; other branches may also take 012+.)
CREATE TABLE handoffs (
    handoff_id    text PRIMARY KEY CHECK (handoff_id ~ '^hnd_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    sandbox_id    text NOT NULL REFERENCES sandboxes (id),
    status        text NOT NULL CHECK (status IN ('pending','accepted','completed','cancelled','expired')),
    reason        text NOT NULL,
    requested_by  text NOT NULL,
    controller    text,
    control_mode  text NOT NULL CHECK (control_mode IN ('ai','human','shared')),
    data          jsonb NOT NULL,
    requested_at  timestamptz NOT NULL,
    expires_at    timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handoffs_sandbox ON handoffs (sandbox_id, requested_at);
