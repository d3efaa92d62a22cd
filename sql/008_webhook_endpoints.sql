-- 008: webhook endpoints (subscriptions) and the outbox proper.
--
-- An endpoint belongs to one sandbox (the `webhook` of its sandbox.create), to
-- a tenant, or to the operator (tenant NULL: every tenant). Its secret is kept
-- sealed (AES-256-GCM, see common/include/sq/webhook_secret.h): "v1:…", or
-- "plain:…" on a stack without SANDQ_WEBHOOK_SECRET_KEY. During a rotation
-- secret_prev_sealed holds the old secret and deliveries carry both signatures.
CREATE TABLE webhook_endpoints (
    id                  text PRIMARY KEY CHECK (id ~ '^ep_[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
    sandbox_id          text,
    tenant              text,
    url                 text NOT NULL CHECK (url ~ '^https?://'),
    secret_sealed       text NOT NULL,
    secret_prev_sealed  text,
    event_types         text[] NOT NULL DEFAULT '{}',   -- exact names or "prefix.*"; empty: every event
    description         text,
    enabled             boolean NOT NULL DEFAULT true,
    disabled_reason     text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhook_endpoints_sandbox ON webhook_endpoints (sandbox_id) WHERE sandbox_id IS NOT NULL;
CREATE INDEX webhook_endpoints_shared ON webhook_endpoints (tenant) WHERE sandbox_id IS NULL;

-- 007's draft keyed deliveries by URL; two endpoints may share a URL, so they
-- are keyed by endpoint now. The payload is the envelope exactly as it is
-- sent and signed. The lease (lease_owner, lease_until) is taken in the same
-- statement that claims a row with FOR UPDATE SKIP LOCKED: no two workers
-- deliver a row at once, and a crashed worker's rows come due again when
-- its lease runs out.
ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS webhook_deliveries_event_id_endpoint_url_key;
ALTER TABLE webhook_deliveries
    ADD COLUMN endpoint_id   text REFERENCES webhook_endpoints (id) ON DELETE SET NULL,
    ADD COLUMN event_type    text NOT NULL DEFAULT '',
    ADD COLUMN tenant        text,
    ADD COLUMN payload       text NOT NULL DEFAULT '',
    ADD COLUMN delivered_at  timestamptz,
    ADD COLUMN lease_owner   text,
    ADD COLUMN lease_until   timestamptz;
CREATE UNIQUE INDEX webhook_deliveries_event_endpoint ON webhook_deliveries (event_id, endpoint_id);
-- Claims take due rows in (next_attempt_at, id) order; the rows of one batch
-- of events share a next_attempt_at, so 007's index on next_attempt_at alone
-- would make every claim sort the whole batch. While some endpoint is at its
-- concurrency cap, claims instead walk the endpoints that have pending rows
-- (a loose index scan) and take each one's oldest due rows, so a receiver's
-- large backlog is not scanned past on every claim.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries (endpoint_id, next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (updated_at) WHERE state = 'failed';

-- One row per attempt: the delivery log behind `sandq webhooks deliveries`.
CREATE TABLE webhook_attempts (
    delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    worker_id    text NOT NULL,
    status       integer,            -- HTTP status, NULL when no answer
    latency_ms   integer,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);

-- Does an endpoint's filter take this event type? Exact names, or "p.*"
-- for every type starting with "p.".
CREATE FUNCTION webhook_type_matches(types text[], t text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT cardinality(types) = 0 OR t = ANY (types)
        OR EXISTS (SELECT 1 FROM unnest(types) AS p WHERE right(p, 2) = '.*' AND starts_with(t, left(p, -1)));
$$;

-- The outbox is written by the database in the statement that appends the
-- event: whoever inserts into events (one row or a batch), each matching
-- endpoint gets its delivery row in the same transaction, so an event in the
-- history always has its deliveries and a rolled-back one has none. Workers
-- LISTEN on sandq_webhooks to start a delivery at once.
CREATE FUNCTION webhook_outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO webhook_deliveries (event_id, sandbox_id, tenant, endpoint_id, endpoint_url, event_type, payload)
    SELECT NEW.event_id, NEW.sandbox_id, NEW.tenant, e.id, e.url, NEW.type, NEW.envelope::text
      FROM webhook_endpoints e
     WHERE e.sandbox_id = NEW.sandbox_id AND e.enabled AND webhook_type_matches(e.event_types, NEW.type)
    UNION ALL
    SELECT NEW.event_id, NEW.sandbox_id, NEW.tenant, e.id, e.url, NEW.type, NEW.envelope::text
      FROM webhook_endpoints e
     WHERE e.sandbox_id IS NULL AND (e.tenant IS NULL OR e.tenant = NEW.tenant) AND e.enabled
       AND webhook_type_matches(e.event_types, NEW.type)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('sandq_webhooks', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION webhook_outbox_enqueue();

-- Claiming a row only sets its lease (unindexed columns): leave room on each
-- page so those updates stay HOT and do not bloat the due index.
ALTER TABLE webhook_deliveries SET (fillfactor = 70);
