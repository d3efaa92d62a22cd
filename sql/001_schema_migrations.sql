-- 001: the ledger of applied migrations. `sandq-worker migrate` also creates it
-- before reading it, so this file exists for completeness and for psql users.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
