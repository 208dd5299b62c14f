-- Events for the host CRM (docs/events.md): an outbox written in the same transaction as the change
-- that causes it, numbered per tenant without gaps in commit order (functions/50_events.sql).

-- Per tenant: whether changes write events at all (a tenant that consumes none pays nothing for
-- them), and how long they are kept (pruned by the workers' maintenance).
ALTER TABLE tenant
    ADD COLUMN events_enabled  boolean NOT NULL DEFAULT true,
    ADD COLUMN event_retention interval NOT NULL DEFAULT '30 days' CHECK (event_retention >= interval '1 hour');

-- One row per event. `seq` is the tenant's sequence number: 1, 2, 3, … in commit order, assigned at
-- commit by `mailroom_number_events`. Until then (inside the writing transaction only, so nobody
-- else ever sees it) it holds minus the event's position among the transaction's events, which
-- keeps the emission order and is what the numbering turns into `last + position`.
CREATE TABLE event (
    tenant_id   bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    seq         bigint NOT NULL CHECK (seq <> 0),
    type        text NOT NULL CHECK (type ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- Ids and the fields a CRM needs; never a secret or a body (docs/events/).
    payload     jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    PRIMARY KEY (tenant_id, id)
);
SELECT mailroom_enable_tenant_rls('event');
-- Readers page by sequence number; the numbering finds a transaction's own events here.
CREATE UNIQUE INDEX event_seq ON event (tenant_id, seq) WHERE seq > 0;
CREATE INDEX event_unnumbered ON event (tenant_id) WHERE seq < 0;

-- Each tenant's last sequence number. Its row lock, taken at commit by the numbering, is what
-- orders the tenant's event-writing commits; the CRM has no right on it (functions/10_access.sql).
CREATE TABLE event_sequence (
    tenant_id bigint PRIMARY KEY REFERENCES tenant(id) ON DELETE CASCADE,
    last_seq  bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);
SELECT mailroom_enable_tenant_rls('event_sequence');
-- Rows are made by the first numbering of each tenant.
