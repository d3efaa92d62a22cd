-- 010: the webhook outbox is filled once per INSERT statement, not once per row.
--
-- The history writer appends events as multi-row INSERTs (up to 64 rows). The
-- row-level trigger of 008 ran its PL/pgSQL body and its two endpoint queries
-- for every row; an exec task appends five events, so that was the largest
-- single cost of the history under load. A statement-level AFTER trigger with
-- a transition table sees the statement's inserted rows at once (rows skipped
-- by ON CONFLICT DO NOTHING are not in it, exactly as the row trigger did not
-- fire for them) and matches them against the endpoints in one query.
--
-- Same transaction, same rows: an event in the history still always has its
-- deliveries, and a rolled-back one has none.
DROP TRIGGER events_webhook_outbox ON events;
DROP FUNCTION webhook_outbox_enqueue();

CREATE FUNCTION webhook_outbox_enqueue_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO webhook_deliveries (event_id, sandbox_id, tenant, endpoint_id, endpoint_url, event_type, payload)
    SELECT ev.event_id, ev.sandbox_id, ev.tenant, e.id, e.url, ev.type, ev.envelope::text
      FROM appended ev
      JOIN webhook_endpoints e ON e.sandbox_id = ev.sandbox_id    -- webhook_endpoints_sandbox
     WHERE e.enabled AND webhook_type_matches(e.event_types, ev.type)
    UNION ALL
    SELECT ev.event_id, ev.sandbox_id, ev.tenant, e.id, e.url, ev.type, ev.envelope::text
      FROM appended ev
      JOIN webhook_endpoints e ON e.sandbox_id IS NULL            -- webhook_endpoints_shared
                              AND (e.tenant IS NULL OR e.tenant = ev.tenant)
     WHERE e.enabled AND webhook_type_matches(e.event_types, ev.type)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('sandq_webhooks', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_outbox_enqueue_rows();
