-- Connecting a mailbox with OAuth from the host CRM (docs/oauth.md, "Connecting a mailbox from the CRM"):
-- the authorization code grant with PKCE (RFC 7636). `mailroom_oauth_begin` (functions/41_oauth_login.sql)
-- records a pending login here and returns the provider's URL; the worker's `/oauth/callback` takes the
-- row back by its state, exchanges the code with the verifier, stores the grant and marks the row used,
-- in one transaction.

-- Where the worker's callback is and where it may send the browser back: written by the workers that
-- serve `/oauth/callback` at their start (`MAILROOM_PUBLIC_URL`, `MAILROOM_OAUTH_RETURN_URLS`), so the
-- database checks a return URL against the very list the callback applies. One row; not per tenant
-- (one deployment, one public URL). Read by `mailroom_oauth_begin` with owner rights; the CRM has no
-- right on it (functions/10_access.sql).
CREATE TABLE oauth_callback_setting (
    singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- `https://mail.example.com`: the redirect URI is this plus `/oauth/callback`.
    public_base_url     text NOT NULL CHECK (public_base_url ~ '^https?://[^/?#]+$'),
    -- Prefixes a return URL must start with. Only prefixes naming a path after the host
    -- (`https://crm.example.com/`) count, so a prefix never matches another host
    -- (`https://crm.example.com.evil.test`): the workers publish no other, and the begin function
    -- ignores any other.
    return_url_prefixes text[] NOT NULL CHECK (cardinality(return_url_prefixes) > 0),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE oauth_callback_setting ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_callback_setting FORCE ROW LEVEL SECURITY;

-- A pending login. The browser carries only `state`, 32 random bytes; the row keeps its SHA-256, so
-- the row is the authority (no signature to forge, nothing to guess) and a copy of the table does
-- not hand out usable states. Single use (`used_at`), ten minutes (`expires_at`). The PKCE verifier
-- never leaves the database except to the worker that redeems the code: the CRM role has no right on
-- this table at all (functions/10_access.sql), only `mailroom_oauth_begin`.
CREATE TABLE oauth_login_state (
    tenant_id     bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    state_hash    bytea NOT NULL UNIQUE CHECK (octet_length(state_hash) = 32),
    account_id    bigint NOT NULL,
    -- The acting user who began the login (an admin, or the owner of a personal account).
    user_id       bigint NOT NULL,
    client_id     bigint NOT NULL,
    code_verifier text NOT NULL CHECK (code_verifier ~ '^[A-Za-z0-9._~-]{43,128}$'),
    redirect_uri  text NOT NULL,
    return_url    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    -- How it ended: `stored`, or why nothing was (`access_denied`, `exchange_failed`, …). Never a secret.
    outcome       text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES oauth_client ON DELETE CASCADE,
    CHECK (expires_at > created_at)
);
SELECT mailroom_enable_tenant_rls('oauth_login_state');
CREATE INDEX oauth_login_state_expiry ON oauth_login_state (expires_at);
