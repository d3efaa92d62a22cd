-- 012: artifacts know their tenant and the store they were put in (issue 13).
-- `store_url` is the worker's SANDQ_ARTIFACT_STORE at upload time (file:///… or
-- s3://bucket/prefix), so a download can be served or signed for the right store
-- after the settings change; `storage_key` is the key inside it.
ALTER TABLE artifacts ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE artifacts ADD COLUMN store_url text NOT NULL DEFAULT '';
CREATE INDEX artifacts_task ON artifacts (task_id);
