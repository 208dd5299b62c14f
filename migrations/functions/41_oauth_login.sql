-- Connecting a mailbox with OAuth from the host CRM: the authorization code grant with PKCE
-- (RFC 7636, S256), begun in SQL, finished by the worker's `/oauth/callback` (docs/oauth.md).

-- `p` percent-encoded for a URL query (RFC 3986 §2.3: unreserved bytes as they are).
CREATE OR REPLACE FUNCTION mailroom_url_encode(p text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(CASE
            WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126) THEN chr(b)
            ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i), '')
    FROM (SELECT i, get_byte(convert_to(p, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(p, 'UTF8')) - 1) AS i) AS bytes
$$;

-- `n` × 16 random bytes, base64url without padding (RFC 4648 §5). gen_random_uuid() draws from
-- pg_strong_random: each UUID carries 122 random bits, so the 32-byte state holds 244 and the 48-byte
-- verifier 366 (RFC 7636 §7.1 asks for 256 bits of entropy in the verifier).
CREATE OR REPLACE FUNCTION mailroom_random_base64url(n integer) RETURNS text
    LANGUAGE sql VOLATILE AS $$
    SELECT rtrim(translate(encode(string_agg(uuid_send(gen_random_uuid()), ''::bytea), 'base64'), E'+/\n', '-_'), '=')
    FROM generate_series(1, n)
$$;

-- Begins connecting account `p_account` of the transaction's tenant with OAuth, for the acting user
-- (`mailroom.user_id`: an active admin, or the owner of a personal account; else 42501, as for any
-- write of the account). Records a single-use pending login living 10 minutes and returns the
-- provider's authorization URL to send the user's browser to. After the login the browser comes back
-- to `p_return_url` (303 from the callback), which must start with one of the prefixes the workers
-- publish from `MAILROOM_OAUTH_RETURN_URLS` (22023 otherwise).
--
-- Owner rights (SECURITY DEFINER): the CRM role has no right on `oauth_login_state` (it holds PKCE
-- verifiers) nor on `oauth_callback_setting`. The function checks the caller as the account's own
-- rules do: the tenant is the transaction's, the acting user must exist in it and may write the account.
CREATE OR REPLACE FUNCTION mailroom_oauth_begin(p_account bigint, p_return_url text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    acting bigint := mailroom_current_user();
    acct record;
    cl record;
    cfg record;
    refusal text;
    state text;
    verifier text;
    challenge text;
    redirect text;
    url text;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF acting IS NULL THEN
        RAISE EXCEPTION 'an OAuth login is begun for an acting user (mailroom.user_id)' USING ERRCODE = '42501';
    END IF;
    SELECT a.kind, a.owner_user_id, a.name, a.address, a.imap_username, a.oauth_client_id INTO acct
    FROM mail_account a WHERE a.tenant_id = t AND a.id = p_account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'mail account % does not exist in this tenant', p_account USING ERRCODE = '22023';
    END IF;
    refusal := mailroom_account_write_refusal(acct.kind, acct.owner_user_id);
    IF refusal IS NOT NULL THEN
        RAISE EXCEPTION 'user % may not connect mail account "%": %', acting, acct.name, refusal USING ERRCODE = '42501';
    END IF;
    IF acct.oauth_client_id IS NULL THEN
        RAISE EXCEPTION 'mail account "%" does not log in with OAuth (no oauth_client_id)', acct.name USING ERRCODE = '22023';
    END IF;
    SELECT c.provider, c.client_id, c.authorization_url, array_to_string(c.scopes, ' ') AS scope INTO cl
    FROM oauth_client c WHERE c.tenant_id = t AND c.id = acct.oauth_client_id;
    IF cl.authorization_url IS NULL THEN
        RAISE EXCEPTION 'the OAuth client of mail account "%" has no authorization_url', acct.name USING ERRCODE = '22023';
    END IF;
    SELECT s.public_base_url, s.return_url_prefixes INTO cfg FROM oauth_callback_setting s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no worker serves /oauth/callback yet (oauth_callback_setting is empty)' USING ERRCODE = '55000';
    END IF;
    -- Only a prefix that names a path after its host counts (the workers publish no other): a
    -- prefix match then never reaches another host (`https://crm.example.com.evil.test`).
    IF p_return_url IS NULL OR p_return_url !~ '^https?://'
       OR NOT EXISTS (SELECT 1 FROM unnest(cfg.return_url_prefixes) AS p
                      WHERE p ~ '^https?://[^/?#[:space:]]+/' AND starts_with(p_return_url, p)) THEN
        RAISE EXCEPTION 'the return URL is not allowed (MAILROOM_OAUTH_RETURN_URLS)' USING ERRCODE = '22023';
    END IF;

    state := mailroom_random_base64url(2);
    verifier := mailroom_random_base64url(3);
    challenge := rtrim(translate(encode(sha256(convert_to(verifier, 'UTF8')), 'base64'), E'+/\n', '-_'), '=');
    redirect := cfg.public_base_url || '/oauth/callback';
    INSERT INTO oauth_login_state (tenant_id, state_hash, account_id, user_id, client_id, code_verifier, redirect_uri,
                                   return_url, expires_at)
    VALUES (t, sha256(convert_to(state, 'UTF8')), p_account, acting, acct.oauth_client_id, verifier, redirect,
            p_return_url, now() + interval '10 minutes');

    url := cl.authorization_url || CASE WHEN strpos(cl.authorization_url, '?') > 0 THEN '&' ELSE '?' END
        || 'response_type=code'
        || '&client_id=' || mailroom_url_encode(cl.client_id)
        || '&redirect_uri=' || mailroom_url_encode(redirect)
        || '&scope=' || mailroom_url_encode(cl.scope)
        || '&state=' || state
        || '&code_challenge=' || challenge
        || '&code_challenge_method=S256'
        || '&login_hint=' || mailroom_url_encode(coalesce(nullif(acct.imap_username, ''), acct.address));
    -- Google issues a refresh token only for offline access, and again only on a new consent.
    IF cl.provider = 'google' THEN
        url := url || '&access_type=offline&prompt=consent';
    END IF;
    RETURN url;
END $$;
