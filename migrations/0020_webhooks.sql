-- Signed webhooks (docs/webhooks.md): each endpoint of a tenant receives the tenant's events in
-- sequence order, one POST per event, from the workers (job kind `webhook`, one live job per
-- endpoint). The endpoint row is also the delivery state: the cursor moves only in the transaction
-- that records the receiver's 2xx.

CREATE TABLE webhook_endpoint (
    tenant_id            bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    name                 text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]*$'),
    -- Checked against the outbound policy by `mailroom apply` and at every connection.
    url                  text NOT NULL CHECK (url ~ '^https?://'),
    -- Event types delivered; empty: every type.
    event_types          text[] NOT NULL DEFAULT '{}',
    -- The signing secret, sealed like passwords (credentials key) and bound to this row; the CRM
    -- cannot read this column (functions/10_access.sql).
    secret               bytea,
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    disabled_at          timestamptz,
    -- The last sequence number delivered (acknowledged with a 2xx) or skipped by the type filter.
    cursor_seq           bigint NOT NULL DEFAULT 0 CHECK (cursor_seq >= 0),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    -- The first failure of the current run of failures; the endpoint is disabled once a failure
    -- comes `retry_window` after it.
    failing_since        timestamptz,
    -- While failing: the next attempt (wake-ups skip the endpoint until then).
    next_attempt_at      timestamptz,
    last_attempt_at      timestamptz,
    last_status          integer,
    -- What went wrong last (an HTTP status or a transport failure; never the body or the secret).
    last_error           text,
    retry_window         interval NOT NULL DEFAULT '3 days' CHECK (retry_window >= interval '1 second'),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    CHECK (enabled OR disabled_at IS NOT NULL)
);
SELECT mailroom_enable_tenant_rls('webhook_endpoint');
-- The wake-up at every event-writing commit looks here: one index probe when the tenant has none.
CREATE INDEX webhook_endpoint_enabled ON webhook_endpoint (tenant_id) WHERE enabled;
