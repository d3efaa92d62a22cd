-- 017: automatic checkpoints (issue 13, docs/checkpoints.md). `auto` marks the
-- ones a sandbox created with checkpoint {auto: true, intervalMs} took on its
-- own; they have their own retention (SANDQ_CHECKPOINT_AUTO_KEEP). A crash
-- restore finds a sandbox's latest one through checkpoints_sandbox_created
-- (sql/014): WHERE sandbox_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1.
ALTER TABLE checkpoints ADD COLUMN auto boolean NOT NULL DEFAULT false;
