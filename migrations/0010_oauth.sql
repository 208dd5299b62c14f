-- OAuth 2.0 mailboxes (Microsoft 365, Google, any provider): the tenant's registered clients, which
-- accounts log in with a token, and each account's grant with its tokens and state.
--
-- The grant's lifecycle (docs/oauth.md): access tokens are refreshed shortly before they expire, by
-- one replica at a time per account (the grant row is locked for the refresh, the others wait and use
-- its result); a rotated refresh token is committed before the new access token is used; an
-- `invalid_grant` answer puts the grant in `reauth_required` until someone logs in again.

CREATE TABLE oauth_client (
    tenant_id         bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id                bigint GENERATED ALWAYS AS IDENTITY,
    name              text NOT NULL,
    provider          text NOT NULL CHECK (provider IN ('microsoft', 'google', 'generic')),
    client_id         text NOT NULL,
    -- Sealed like passwords (credentials key); NULL for a public client.
    client_secret     bytea,
    -- Microsoft's directory: `organizations`, `common` or a tenant id.
    directory         text NOT NULL DEFAULT 'organizations',
    authorization_url text,
    token_url         text NOT NULL,
    device_authorization_url text,
    scopes            text[] NOT NULL,
    -- When the client secret stops working: warned about 30 days before.
    secret_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    CHECK (token_url ~ '^https?://'),
    CHECK (authorization_url IS NULL OR authorization_url ~ '^https?://'),
    CHECK (device_authorization_url IS NULL OR device_authorization_url ~ '^https?://')
);
SELECT mailroom_enable_tenant_rls('oauth_client');

ALTER TABLE mail_account
    ADD COLUMN imap_auth text NOT NULL DEFAULT 'password' CHECK (imap_auth IN ('password', 'oauth2')),
    ADD COLUMN oauth_client_id bigint,
    -- A client in use is not deleted under its accounts.
    ADD FOREIGN KEY (tenant_id, oauth_client_id) REFERENCES oauth_client ON DELETE RESTRICT;
ALTER TABLE mail_account DROP CONSTRAINT mail_account_smtp_auth_check;
ALTER TABLE mail_account ADD CONSTRAINT mail_account_smtp_auth_check CHECK (smtp_auth IN ('plain', 'login', 'none', 'oauth2'));
ALTER TABLE mail_account ADD CONSTRAINT mail_account_oauth_needs_client
    CHECK ((imap_auth = 'oauth2' OR smtp_auth = 'oauth2') = (oauth_client_id IS NOT NULL));

CREATE TABLE oauth_grant (
    tenant_id          bigint NOT NULL,
    account_id         bigint NOT NULL,
    -- Sealed with the oauth-token key, bound to this row and column.
    refresh_token      bytea NOT NULL,
    access_token       bytea,
    access_expires_at  timestamptz,
    -- What the provider said the access token lives: the refresh margin scales with it.
    access_lifetime    interval,
    -- Every new access token increments it: kept IMAP sessions logged in with an older one log in again.
    generation         bigint NOT NULL DEFAULT 0,
    state              text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'reauth_required')),
    -- The provider's reason (never a token), and when the state last changed.
    state_reason       text,
    state_changed_at   timestamptz NOT NULL DEFAULT now(),
    refreshed_at       timestamptz,
    refresh_count      bigint NOT NULL DEFAULT 0,
    -- After a failed token request: no new one before this (backoff with jitter; at most one per
    -- 15 minutes while the grant needs a new login).
    next_attempt_at    timestamptz,
    last_error         text,
    last_error_at      timestamptz,
    PRIMARY KEY (tenant_id, account_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE
);
SELECT mailroom_enable_tenant_rls('oauth_grant');
