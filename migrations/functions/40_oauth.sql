-- OAuth clients are directory-like settings: with an acting user set, only active admins write them
-- (the rule of functions in 0007_self_service.sql). Grants are the service's (functions/access.sql).
CREATE OR REPLACE TRIGGER oauth_client_access BEFORE INSERT OR UPDATE OR DELETE ON oauth_client
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();

-- How an account logs in changes what the workers do: wake them as for the other login settings
-- (0002_jobs.sql), and pull its polls forward (functions/30_jobs.sql). `idle` (0027) changes which
-- folders the workers watch with IMAP IDLE.
CREATE OR REPLACE TRIGGER mail_account_config
    AFTER INSERT OR DELETE OR UPDATE OF is_active, imap_host, imap_port, imap_security, imap_verify_tls,
        imap_username, imap_secret, imap_auth, oauth_client_id, poll_interval, fetch_since, keep_unread,
        max_message_size, idle ON mail_account
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_config();

-- A new grant (a new login) or a grant that needs one: wake the workers so polling and sending
-- resume (or stop hammering) at once.
CREATE OR REPLACE TRIGGER oauth_grant_config AFTER INSERT OR UPDATE OF state, refresh_token ON oauth_grant
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_config();

-- A new login (the grant active again after `reauth_required`): the mail that waited for it goes out at
-- once. Its send jobs were postponed without spending attempts (MailWorker.SendJobHandler); pull them
-- forward and wake the workers. Invoker rights: only the service and the owner write grants (the CRM
-- only reads them, functions/10_access.sql), and both may move jobs; the tenant's row-level security
-- keeps the join to this tenant's emails.
CREATE OR REPLACE FUNCTION mailroom_oauth_login_resume_sends() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job j SET run_at = now()
    FROM email e
    WHERE j.tenant_id = NEW.tenant_id AND j.kind = 'send' AND j.state = 'ready' AND j.run_at > now()
      AND e.tenant_id = NEW.tenant_id AND e.id = (j.payload->>'email')::bigint
      AND e.send_account_id = NEW.account_id AND e.status = 'Sending';
    PERFORM pg_notify('mailroom_jobs', 'send');
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER oauth_grant_resume_sends AFTER UPDATE OF state ON oauth_grant
    FOR EACH ROW WHEN (OLD.state = 'reauth_required' AND NEW.state = 'active')
    EXECUTE FUNCTION mailroom_oauth_login_resume_sends();
