-- 011: history rows PostgreSQL refused on their merits (SQLSTATE class 22, data
-- exception, or 23, integrity constraint). The history writer cannot write such
-- a row however often it tries, and must not hold every request behind it; it
-- keeps the row here instead — the statement, its parameters and the error — so
-- nothing leaves the history in silence (sandq_history_quarantined_total counts
-- them; docs/operations.md says what to do with them).
CREATE TABLE history_quarantine (
    id             bigserial PRIMARY KEY,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    worker_id      text NOT NULL,
    sqlstate       text NOT NULL,
    error          text NOT NULL,
    statement      text NOT NULL,
    -- one element per parameter: a string, null (SQL NULL), or {"base64": …}
    -- for bytes that are not UTF-8 text
    params         jsonb NOT NULL
);
CREATE INDEX history_quarantine_at ON history_quarantine (quarantined_at);
