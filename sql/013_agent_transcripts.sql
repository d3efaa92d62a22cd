-- 012: the transcript of each task.agent (issue 12): every message the agent
-- loop sent and received — system prompt, prompt, the model's replies and tool
-- calls, the tool results — with the sandbox's secrets (OPENROUTER_API_KEY and
-- env values whose names look secret) replaced by [REDACTED] before it is
-- written. One row per task, written when the task ends; read with
-- `sandq agent transcript TASK`. Bounded at 4 MiB (later messages are dropped,
-- `truncated` says so).
CREATE TABLE agent_transcripts (
    task_id     text PRIMARY KEY,
    sandbox_id  text NOT NULL,
    agent       text NOT NULL,
    model       text NOT NULL,
    steps       integer NOT NULL,
    transcript  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_transcripts_sandbox ON agent_transcripts (sandbox_id);
