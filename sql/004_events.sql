-- 004: the append-only audit log: every event a worker emitted, as emitted.
-- (sandbox_id, seq) is unique per sandbox; rejections that belong to no
-- sandbox have seq 0 and a NULL sandbox_id.
CREATE TABLE events (
    event_id    text PRIMARY KEY CHECK (event_id ~ '^evt_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    sandbox_id  text,
    seq         bigint NOT NULL CHECK (seq >= 0),
    type        text NOT NULL,
    task_id     text,
    request_id  text,
    tenant      text NOT NULL,
    worker_id   text NOT NULL,
    at          timestamptz NOT NULL,
    envelope    jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_sandbox_seq ON events (sandbox_id, seq) WHERE sandbox_id IS NOT NULL AND seq > 0;
CREATE INDEX events_task ON events (task_id) WHERE task_id IS NOT NULL;

-- Append-only is enforced by the database, not by convention.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
