-- Waking webhook deliveries (docs/webhooks.md). Each endpoint has one live job of kind `webhook`
-- (unique key `webhook:endpoint:<id>`), periodic: besides the wake-ups below it runs every
-- 5 minutes, which is the catch-up if a wake-up is ever missed (the job sends whatever lies past the
-- endpoint's cursor, or nothing).

-- Wakes tenant `p_tenant`'s enabled endpoints that want any of its events numbered `p_after + 1`
-- to `p_last`: called by `mailroom_number_events` at commit, in the committing transaction, so the
-- job is queued exactly when the events become visible. One index probe when the tenant has no
-- enabled endpoint. Endpoints backing off after a failure are skipped: their job is already due at
-- their `next_attempt_at`. Runs under the tenant's setting and with the owner's rights of the
-- numbering that calls it. These functions have invoker rights: their other callers are the owner
-- (`mailroom apply`, `mailroom events replay`) and the service (the endpoint trigger when the workers
-- update a row); the CRM has no right to write an endpoint, nor to call them (functions/10_access.sql).
CREATE OR REPLACE FUNCTION mailroom_wake_webhooks(p_tenant bigint, p_after bigint, p_last bigint) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoint WHERE tenant_id = p_tenant AND enabled) THEN
        RETURN;
    END IF;
    SELECT array_agg(w.id) INTO ids FROM webhook_endpoint w
    WHERE w.tenant_id = p_tenant AND w.enabled AND (w.next_attempt_at IS NULL OR w.next_attempt_at <= now())
      AND (w.event_types = '{}' OR EXISTS (
            SELECT 1 FROM event e WHERE e.tenant_id = p_tenant AND e.seq > 0 AND e.seq > p_after AND e.seq <= p_last
              AND e.type = ANY (w.event_types)));
    IF ids IS NOT NULL THEN
        PERFORM mailroom_webhook_enqueue(p_tenant, ids);
    END IF;
END $$;

-- Queues (or moves to now) the delivery job of each endpoint in `p_ids` of tenant `p_tenant`.
CREATE OR REPLACE FUNCTION mailroom_webhook_enqueue(p_tenant bigint, p_ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mailroom_enqueue_jobs(
        p_tenant, 'webhook',
        (SELECT array_agg(jsonb_build_object('endpoint', i) ORDER BY i) FROM unnest(p_ids) i),
        (SELECT array_agg('webhook:endpoint:' || i ORDER BY i) FROM unnest(p_ids) i),
        NULL, 0, 10,
        (SELECT array_agg(interval '5 minutes') FROM unnest(p_ids) i));
END $$;

-- A new endpoint, one enabled again, or one whose cursor moved back (`mailroom events replay`):
-- deliver now. Not on the workers' own cursor moves (their job is running and would run again).
CREATE OR REPLACE FUNCTION mailroom_webhook_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Its job goes with it (a running one finds the row gone and its completion nothing to update).
        DELETE FROM job WHERE tenant_id = OLD.tenant_id AND unique_key = 'webhook:endpoint:' || OLD.id
            AND state IN ('ready', 'running');
        RETURN NULL;
    END IF;
    IF NEW.enabled AND (TG_OP = 'INSERT' OR NOT OLD.enabled OR NEW.cursor_seq < OLD.cursor_seq OR NEW.url <> OLD.url
                        OR NEW.event_types <> OLD.event_types) THEN
        PERFORM mailroom_webhook_enqueue(NEW.tenant_id, ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER webhook_endpoint_changed
    AFTER INSERT OR UPDATE OF enabled, cursor_seq, url, event_types OR DELETE ON webhook_endpoint
    FOR EACH ROW EXECUTE FUNCTION mailroom_webhook_changed();
