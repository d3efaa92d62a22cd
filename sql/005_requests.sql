-- 005: every request id a worker has acted on: the durable half of request
-- dedupe (Redis SET NX is the fast half).
CREATE TABLE requests (
    request_id   text PRIMARY KEY,
    sandbox_id   text,
    type         text NOT NULL,
    outcome      text NOT NULL,          -- 'done' or the rejection code
    received_at  timestamptz NOT NULL DEFAULT now()
);
