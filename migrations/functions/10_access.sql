-- Who may do what, for the three roles (docs/security.md):
--   * the owner: the role that runs `mailroom migrate` and `mailroom apply`, owns every object; the
--     operator. Bound by row-level security like everyone (FORCE), plus the narrow cross-tenant
--     policies below on tenants and the queue.
--   * the service role (default `mailroom_service`): the workers. Every tenant table through its
--     tenant setting, tenants and the queue across tenants (the fair claim walks all tenants), the
--     case counter of `tenant`. No DDL, so it can neither switch row-level security off nor change
--     a rule.
--   * the CRM role (default `mailroom_crm`): the host CRM. Its own tenant's rows only, its own tenant
--     row and the service's own records (auto-reply windows, storm breaker counts, poll log, sync events) read-only, no table of the queue (jobs are reached through `mailroom_enqueue_send` and
--     `mailroom_request_poll`), no right on the API keys, no service-only function.
-- `mailroom migrate` calls `mailroom_apply_access(service, crm)` after applying anything, so a new
-- table or function gets its grants, and every function its pinned search_path, without a new rule.

-- The tenant (`mailroom.tenant_id`) and acting user (`mailroom.user_id`) of this transaction, NULL
-- when unset. Every row-level security policy calls the first. PL/pgSQL rather than SQL, here and in
-- the rules below that run on every statement: a function with a pinned search_path is never
-- inlined, and a SQL function that is not inlined is parsed and planned again at every statement
-- that calls it, where PL/pgSQL keeps its plans for the session (measured: a third of the CPU of
-- queueing one email went to re-parsing these bodies).
CREATE OR REPLACE FUNCTION mailroom_current_tenant() RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN nullif(current_setting('mailroom.tenant_id', true), '')::bigint;
END $$;

CREATE OR REPLACE FUNCTION mailroom_current_user() RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN nullif(current_setting('mailroom.user_id', true), '')::bigint;
END $$;

-- True when the caller is the owner or the service role: trusted to write what only the service
-- writes (auto-replies, send results). Replaced by `mailroom_apply_access` with the real role names;
-- until then nobody is trusted.
CREATE OR REPLACE FUNCTION mailroom_caller_trusted() RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN false; END $$;

CREATE OR REPLACE FUNCTION mailroom_apply_access(p_service name, p_crm name) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    s name := current_schema();
    owner_role name := current_user;
    r record;
BEGIN
    IF p_service = owner_role OR p_crm = owner_role OR p_service = p_crm THEN
        RAISE EXCEPTION 'the owner (%), service (%) and CRM (%) roles must be three different roles',
            owner_role, p_service, p_crm USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN (p_service, p_crm) AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'the service and CRM roles must be neither superusers nor BYPASSRLS: row-level security would not bind them'
            USING ERRCODE = '42501';
    END IF;

    -- Exact names: a member that wants the role's rights must SET ROLE, and then it is the role.
    EXECUTE format('CREATE OR REPLACE FUNCTION mailroom_caller_trusted() RETURNS boolean LANGUAGE plpgsql STABLE '
                   'AS %L', format('BEGIN RETURN current_user IN (%L, %L); END', owner_role, p_service));

    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I', s, p_service, p_crm);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO %I, %I', s, p_service, p_crm);

    FOR r IN
        SELECT c.oid::regclass AS tbl, c.relname, c.relrowsecurity AND c.relforcerowsecurity AS forced,
               EXISTS (SELECT 1 FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant_owned
        FROM pg_class c WHERE c.relnamespace = s::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, %I, %I', r.tbl, p_service, p_crm);
        IF r.relname IN ('mailroom_migration', 'mailroom_repeatable') THEN
            -- A worker started as the service role checks that the schema is current.
            EXECUTE format('GRANT SELECT ON %s TO %I', r.tbl, p_service);
            CONTINUE;
        END IF;
        IF NOT r.forced THEN
            RAISE EXCEPTION 'table % has no forced row-level security', r.tbl USING ERRCODE = '42501';
        END IF;
        IF r.relname = 'tenant' THEN
            EXECUTE format('GRANT SELECT, UPDATE (next_case_number) ON %s TO %I', r.tbl, p_service);
            EXECUTE format('GRANT SELECT ON %s TO %I', r.tbl, p_crm);
        ELSIF r.relname IN ('job', 'job_tenant_turn') THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', r.tbl, p_service);
        ELSIF r.relname IN ('auto_reply_sender', 'case_sender_limit', 'mail_poll_log', 'mail_sync_event', 'oauth_grant', 'event',
                            'email_bounce') THEN
            -- The service's own records: the per-sender auto-reply window and storm breaker counts (a
            -- CRM that could reset them would lift the limits), the poll log and sync events, OAuth
            -- grants (tokens sealed, their state: written by the workers and the login flows), events
            -- (written by triggers with owner rights, pruned by the workers), what delivery reports said
            -- (a CRM that could write one would mark addresses). The CRM reads them. (`address_health`
            -- is the CRM's like any tenant table, but its guard trigger lets the CRM only clear a mark,
            -- as an administrator.)
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', r.tbl, p_service);
            EXECUTE format('GRANT SELECT ON %s TO %I', r.tbl, p_crm);
        ELSIF r.relname = 'event_sequence' THEN
            -- The event counters: only the numbering (owner rights) writes them; a CRM that could
            -- lock one would stall its tenant's event-writing commits.
            EXECUTE format('GRANT SELECT ON %s TO %I', r.tbl, p_service);
        ELSIF r.relname IN ('oauth_login_state', 'oauth_callback_setting') THEN
            -- Pending OAuth logins hold PKCE verifiers, and the callback settings decide where browsers
            -- are sent: the CRM has no right on either; it begins a login with `mailroom_oauth_begin`
            -- (owner rights, checks the acting user). The service redeems the states and publishes
            -- the settings.
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', r.tbl, p_service);
        ELSIF r.relname = 'api_key' THEN
            -- Hashes of the HTTP API's keys: the CRM has no right on them (it does not need its own
            -- keys' metadata, and a CRM that could write one would mint keys). Revoked, never deleted.
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %s TO %I', r.tbl, p_service);
        ELSIF r.relname = 'webhook_endpoint' THEN
            -- Webhook endpoints: set by the operator's manifest, their delivery state kept by the
            -- workers. The CRM reads every column but the sealed signing secret.
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', r.tbl, p_service);
            EXECUTE format('GRANT SELECT (%s) ON %s TO %I',
                           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                            WHERE a.attrelid = r.tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'secret'),
                           r.tbl, p_crm);
        ELSIF r.tenant_owned THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I, %I', r.tbl, p_service, p_crm);
        ELSE
            RAISE EXCEPTION 'table % holds no tenant_id and has no rule in mailroom_apply_access', r.tbl
                USING ERRCODE = '42501';
        END IF;
    END LOOP;

    -- Across tenants: only the owner and the service, only here.
    -- The OAuth callback learns the tenant from the pending login its state names.
    FOR r IN SELECT unnest(ARRAY['tenant', 'job', 'job_tenant_turn', 'oauth_login_state', 'oauth_callback_setting']) AS tbl LOOP
        EXECUTE format('DROP POLICY IF EXISTS operator_all ON %I', r.tbl);
        EXECUTE format('CREATE POLICY operator_all ON %I TO %I, %I USING (true) WITH CHECK (true)',
                       r.tbl, owner_role, p_service);
    END LOOP;
    -- API keys across tenants: the owner only, i.e. `mailroom_api_key_tenant` (owner rights), which
    -- answers a presented key with its tenant and nothing else; the service never reads other
    -- tenants' hashes.
    DROP POLICY IF EXISTS operator_all ON api_key;
    EXECUTE format('CREATE POLICY operator_all ON api_key TO %I USING (true) WITH CHECK (true)', owner_role);

    -- Every function: a pinned search_path (a caller's temporary table named like ours is never
    -- read in its place: pg_temp comes last), no EXECUTE for PUBLIC, service-only ones kept from the CRM.
    FOR r IN
        SELECT p.oid::regprocedure AS fn, p.proname, p.proconfig FROM pg_proc p
        WHERE p.pronamespace = s::regnamespace AND p.prokind IN ('f', 'p')
    LOOP
        IF NOT coalesce(format('search_path=%I, pg_temp', s) = ANY (r.proconfig), false) THEN
            EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', r.fn, s);
        END IF;
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, %I, %I', r.fn, p_service, p_crm);
        CONTINUE WHEN r.proname IN ('mailroom_apply_access', 'mailroom_enable_tenant_rls');
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.fn, p_service);
        -- Service-only: the auto-reply window and the storm breaker's slots, writing job rows (the CRM
        -- asks for jobs through the SECURITY DEFINER functions that check what it asks), and writing events (a CRM that could
        -- would forge them; the triggers that write them run with owner rights), the API key lookup (a
        -- CRM could probe keys of other tenants with it), waking webhook deliveries, and recording
        -- delivery reports and the import's clearing of addresses that wrote to us.
        CONTINUE WHEN r.proname IN ('mailroom_auto_reply_take', 'mailroom_case_sender_take', 'mailroom_enqueue_jobs',
                                    'mailroom_emit_event', 'mailroom_emit_events', 'mailroom_api_key_tenant', 'mailroom_wake_webhooks',
                                    'mailroom_webhook_enqueue', 'mailroom_record_delivery_reports', 'mailroom_address_wrote');
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', r.fn, p_crm);
    END LOOP;
END $$;
