-- 014: checkpoints know their tenant, the store they were put in, the task
-- that made them, their archive's sha256 and how long they took (issue 13).
-- (013 is left to the hand-off branch.) `store_url` is the worker's
-- SANDQ_ARTIFACT_STORE at checkpoint time, `storage_key` the key inside it.
ALTER TABLE checkpoints ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE checkpoints ADD COLUMN store_url text NOT NULL DEFAULT '';
ALTER TABLE checkpoints ADD COLUMN task_id text;
ALTER TABLE checkpoints ADD COLUMN sha256 text NOT NULL DEFAULT '';
ALTER TABLE checkpoints ADD COLUMN duration_ms bigint NOT NULL DEFAULT 0;
CREATE INDEX checkpoints_sandbox_created ON checkpoints (sandbox_id, created_at DESC);
