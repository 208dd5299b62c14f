-- Writing and reading events (docs/events.md). Who writes: triggers on the tables whose changes are
-- events, through `mailroom_emit_event`, with owner rights, so an event is written whoever made the
-- change (the workers, the CRM, an administrator's SQL) and nobody but those triggers writes one: the
-- CRM reads `event` and has no other right on it (functions/10_access.sql).
--
-- Numbering, gap-free in commit order. A plain sequence is not enough: transaction A draws 7, B draws
-- 8, B commits, a reader sees 8 and moves its cursor past 7, then A commits 7 and the reader never
-- sees it. Here an event is written with a placeholder (minus its position in its transaction) and a
-- deferred constraint trigger numbers the transaction's events when it commits, under the row lock of
-- the tenant's `event_sequence` row, which is held until the commit is visible. So the tenant's
-- event-writing transactions take their numbers one after the other in the order in which they
-- become visible: when a reader sees N, every event numbered below N was visible before N was. A
-- transaction that rolls back takes its numbers back with the counter. The lock is held only from
-- the numbering to the end of the commit, not for the transaction's life.

-- Writes events of tenant `p_tenant` (the transaction's tenant: the rows pass its policy) in order,
-- one per (type, payload) pair, unless the tenant has events switched off: the one writer of event
-- rows. The position counter lives in a transaction-local setting per tenant, moved once however many
-- are written: a savepoint rolled back takes both its events and its positions back. Service-only
-- (functions/10_access.sql); invoker rights: its callers (the triggers of functions/51_event_triggers.sql
-- and `mailroom_emit_event`) run as the owner already.
CREATE OR REPLACE FUNCTION mailroom_emit_events(p_tenant bigint, p_types text[], p_payloads jsonb[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    counter text := 'mailroom.events_pending_' || p_tenant;
    n integer := coalesce(cardinality(p_types), 0);
    base bigint;
BEGIN
    IF n <> coalesce(cardinality(p_payloads), 0) THEN
        RAISE EXCEPTION 'mailroom_emit_events: % types for % payloads', n, coalesce(cardinality(p_payloads), 0)
            USING ERRCODE = '22023';
    END IF;
    IF n = 0 OR NOT coalesce((SELECT events_enabled FROM tenant WHERE id = p_tenant), false) THEN
        RETURN;
    END IF;
    base := coalesce(nullif(current_setting(counter, true), '')::bigint, 0);
    PERFORM set_config(counter, (base + n)::text, true);
    INSERT INTO event (tenant_id, seq, type, payload)
    SELECT p_tenant, -(base + x.o), x.type, x.payload
    FROM unnest(p_types, p_payloads) WITH ORDINALITY AS x(type, payload, o);
END $$;

-- One event: `mailroom_emit_events` with one pair. Owner rights, so the per-row triggers and the
-- workers write through it alike; service-only as well.
CREATE OR REPLACE FUNCTION mailroom_emit_event(p_tenant bigint, p_type text, p_payload jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_events(p_tenant, ARRAY[p_type], ARRAY[p_payload]);
END $$;

-- The deferred trigger: fires at commit once per event row; the first firing of a transaction (per
-- tenant) numbers all of that tenant's pending events, the others find the counter at zero. `SET
-- CONSTRAINTS ALL IMMEDIATE` may fire it early: events written after that are numbered at commit.
-- The commit is made synchronous (a transaction that asked for asynchronous commit could otherwise
-- be lost in a crash after a reader saw its numbers, and the numbers would be handed out again).
-- Readers and webhook deliveries wake on NOTIFY `mailroom_events` (payload: the tenant id).
CREATE OR REPLACE FUNCTION mailroom_number_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    t bigint := NEW.tenant_id;
    counter text := 'mailroom.events_pending_' || t;
    pending bigint := coalesce(nullif(current_setting(counter, true), '')::bigint, 0);
    caller_tenant text := current_setting('mailroom.tenant_id', true);
    base bigint;
    numbered bigint;
BEGIN
    IF pending = 0 THEN
        RETURN NULL;
    END IF;
    -- The event rows pass the tenant policy only under their own tenant.
    PERFORM set_config('mailroom.tenant_id', t::text, true);
    UPDATE event_sequence SET last_seq = last_seq + pending WHERE tenant_id = t RETURNING last_seq - pending INTO base;
    IF base IS NULL THEN
        -- The tenant's first events: its counter row (a concurrent first commit waits on the key).
        INSERT INTO event_sequence (tenant_id, last_seq) VALUES (t, 0) ON CONFLICT DO NOTHING;
        UPDATE event_sequence SET last_seq = last_seq + pending WHERE tenant_id = t RETURNING last_seq - pending INTO base;
    END IF;
    UPDATE event SET seq = base - seq WHERE tenant_id = t AND seq < 0;
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered <> pending THEN
        RAISE EXCEPTION 'event numbering found % pending events of tenant %, expected %', numbered, t, pending;
    END IF;
    PERFORM set_config(counter, '0', true);
    -- Webhook deliveries of the tenant's endpoints that want these events (functions/52_webhooks.sql).
    PERFORM mailroom_wake_webhooks(t, base, base + pending);
    PERFORM set_config('mailroom.tenant_id', coalesce(caller_tenant, ''), true);
    PERFORM set_config('synchronous_commit', 'on', true);
    PERFORM pg_notify('mailroom_events', t::text);
    RETURN NULL;
END $$;
-- Constraint triggers have no OR REPLACE: dropped and made again when this file changes.
DROP TRIGGER IF EXISTS event_number ON event;
CREATE CONSTRAINT TRIGGER event_number AFTER INSERT ON event
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mailroom_number_events();

-- The pull cursor for a host on the same database: the caller's tenant's events numbered after
-- `after`, in order, at most `max` (1 to 1000). Invoker rights: the CRM reads `event` through its
-- tenant policy. Poll it after a NOTIFY on `mailroom_events` (or every few seconds), passing the
-- last number seen.
CREATE OR REPLACE FUNCTION mailroom_events(after bigint, max integer)
    RETURNS TABLE (seq bigint, id uuid, type text, version integer, occurred_at timestamptz, payload jsonb)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    t bigint := mailroom_current_tenant();
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF after IS NULL OR after < 0 THEN
        RAISE EXCEPTION 'after must be 0 or a sequence number, not %', after USING ERRCODE = '22023';
    END IF;
    IF max IS NULL OR max < 1 OR max > 1000 THEN
        RAISE EXCEPTION 'max must be between 1 and 1000, not %', max USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT e.seq, e.id, e.type, e.version, e.occurred_at, e.payload FROM event e
    WHERE e.tenant_id = t AND e.seq > after ORDER BY e.seq LIMIT max;
END $$;
