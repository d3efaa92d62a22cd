-- 015: the audit trail of sandboxes created with capabilities.recording.enabled
-- (docs/recording.md). One row per event of the sandbox (the same seq, so the
-- trail is in the events' order), written by the worker in the same history
-- writer batch as the event, carrying what the event does not: the request's
-- parameters (argv, cwd, paths, browser actions, the agent's prompt), with
-- every env value redacted and no file content. sandbox.task.output is not a
-- row: a command's output is in its asciicast artifact. (013 and 014 are taken
-- by other branches.)
CREATE TABLE audit (
    sandbox_id   text NOT NULL,
    seq          bigint NOT NULL CHECK (seq > 0),
    at           timestamptz NOT NULL,
    category     text NOT NULL CHECK (category IN ('request','state','command','file','browser','agent',
                                                   'artifacts','rejected','other')),
    event_type   text NOT NULL,
    request_type text,
    task_id      text,
    request_id   text,
    detail       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (sandbox_id, seq)
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
