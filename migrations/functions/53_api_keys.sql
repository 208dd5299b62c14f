-- API keys (docs/api.md, migrations/0021_api_keys.sql). Rights (functions/10_access.sql): the service
-- reads and writes its transaction tenant's keys (the CLI may run as the service); the CRM has no right
-- on `api_key` and may not call the lookup; the owner alone reads keys across tenants, which is how
-- the lookup below, running with owner rights, finds the tenant of a presented key.

-- The tenant of the live key `p_key_id` whose secret hashes to `p_secret_hash`, NULL for any other
-- key (unknown, revoked, or a wrong secret: the caller learns nothing about which). The hash is
-- compared by equality in SQL: what differs is a SHA-256 of a 256-bit random secret, so the time the
-- comparison takes tells an attacker nothing he could use to build a matching secret. Marks the key
-- used, at most once a minute.
CREATE OR REPLACE FUNCTION mailroom_api_key_tenant(p_key_id text, p_secret_hash bytea) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    found_tenant bigint;
    found_id bigint;
    used timestamptz;
BEGIN
    SELECT k.tenant_id, k.id, k.last_used_at INTO found_tenant, found_id, used FROM api_key k
    WHERE k.key_id = p_key_id AND k.secret_hash = p_secret_hash AND k.revoked_at IS NULL;
    IF found_tenant IS NULL THEN
        RETURN NULL;
    END IF;
    IF used IS NULL OR used < now() - interval '1 minute' THEN
        UPDATE api_key SET last_used_at = now() WHERE tenant_id = found_tenant AND id = found_id;
    END IF;
    RETURN found_tenant;
END $$;
