-- API keys of the HTTP pull API (docs/api.md): a tenant's host CRM presents one as a bearer token
-- to read its tenant's events. Only a hash of each key's secret part is stored (functions/53_api_keys.sql).
--
-- A key reads `mrk_<key_id>_<secret>`: `key_id` is 16 random hex digits, not secret, the lookup key
-- across tenants (unique over every key ever stored, so a key id names one key of one tenant, and a
-- revoked key can never come back); `secret` is 64 random hex digits (256 bits). A plain SHA-256 of
-- the secret is the right hash for a secret with that much entropy: nobody can guess their way to it,
-- so a slow password hash would only cost every request time.
CREATE TABLE api_key (
    tenant_id    bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    key_id       text NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{16}$'),
    secret_hash  bytea NOT NULL CHECK (length(secret_hash) = 32),
    -- Who made it: `mailroom apply` revokes the manifest's keys that its manifest no longer lists,
    -- and never a key made with `mailroom api-key create`.
    managed_by   text NOT NULL CHECK (managed_by IN ('manifest', 'cli')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    -- Moved by the lookup at most once a minute per key (a write per request would cost more than
    -- the read it serves).
    last_used_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
SELECT mailroom_enable_tenant_rls('api_key');
-- A name names one live key of its tenant; revoked keys keep their names for the record.
CREATE UNIQUE INDEX api_key_live_name ON api_key (tenant_id, name) WHERE revoked_at IS NULL;
