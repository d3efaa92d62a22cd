-- 009: the events of one request, found by its id. A duplicate of a request that
-- already took effect is answered with the request's stored events again (the
-- worker's replay.c); without this index that lookup would scan the whole log.
-- (Built in the migration's transaction: the table is locked for writes while it
-- builds, so on a large existing log run it in a quiet moment.)
CREATE INDEX events_request ON events (request_id) WHERE request_id IS NOT NULL;
