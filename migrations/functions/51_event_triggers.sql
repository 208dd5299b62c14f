-- The events that changes write (docs/events.md; one JSON Schema per type in docs/events/), each in the
-- transaction of the change, so an event exists exactly when its change committed. Version 1 of every
-- type. Payloads hold ids and the fields a CRM needs, never a secret or a body (a body is fetched by id).
--
-- Who fires: these triggers, whoever made the change (the workers, the CRM, an administrator's SQL).
-- The trigger functions run with owner rights (SECURITY DEFINER) because the CRM role may change
-- cases and emails but may not write events; they write only events of the changed rows' tenant,
-- and the rows had to pass that tenant's policy to be changed. The event rows pass the same policy
-- (`event` is under forced row-level security, the owner included), so nothing here can write
-- another tenant's event.
--
-- Cost. Where one statement changes many rows (the import stores a batch of emails in one INSERT
-- and links them in one UPDATE), the trigger is per statement over the transition table: one call and
-- one query per statement, and one `mailroom_emit_events` (functions/50_events.sql) per tenant, however many rows. Where the
-- interesting change is rare among many updates of the table (a case's last activity is bumped for
-- every linked email, an account's error is rewritten on every failed poll), the trigger is per row
-- with a WHEN clause that the executor evaluates without calling any function, so the updates that
-- are not events cost nothing. A tenant with `events_enabled` off pays one lookup of its tenant row
-- per statement (per row for the row triggers whose WHEN passed).

------------------------------------------------------------------------------------------------
-- Emails
------------------------------------------------------------------------------------------------

-- New email rows, per statement:
--   * `email.received`: mail found in a mailbox (no account to send through, status Archived). The
--     row is inserted once per tenant (Message-ID dedupe, ON CONFLICT DO NOTHING inserts nothing for
--     mail already held), so the same email found in a second mailbox writes no second event;
--   * `email.queued`: outgoing mail inserted waiting to be sent (status Sending), which is how
--     `mailroom_queue_email(s)` writes it;
--   * `email.linked`: either of them inserted with a parent record already set.
-- Ordered by email id, and per email in the order above.
CREATE OR REPLACE FUNCTION mailroom_email_inserted_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_events(x.tenant_id, array_agg(x.type ORDER BY x.id, x.k), array_agg(x.payload ORDER BY x.id, x.k))
    FROM (
        SELECT e.tenant_id, e.id, 1 AS k, 'email.received' AS type, jsonb_build_object(
                   'email_id', e.id, 'message_id', e.message_id, 'subject', e.subject,
                   'from_address', e.from_address, 'from_name', e.from_name,
                   'date_sent', e.date_sent, 'date_received', e.date_received, 'imported_at', e.imported_at,
                   'size', e.size, 'is_header_only', e.is_header_only,
                   'parent_type', e.parent_type, 'parent_id', e.parent_id) AS payload
        FROM new_emails e JOIN tenant t ON t.id = e.tenant_id AND t.events_enabled
        WHERE e.status = 'Archived' AND e.send_account_id IS NULL AND NOT e.is_auto_reply
        UNION ALL
        SELECT e.tenant_id, e.id, 2, 'email.queued', jsonb_build_object(
                   'email_id', e.id, 'message_id', e.message_id, 'subject', e.subject,
                   'account_id', e.send_account_id, 'user_id', e.created_by_user_id,
                   'is_auto_reply', e.is_auto_reply, 'reply_to_email_id', e.reply_to_email_id,
                   'parent_type', e.parent_type, 'parent_id', e.parent_id, 'queued_at', e.queued_at)
        FROM new_emails e JOIN tenant t ON t.id = e.tenant_id AND t.events_enabled
        WHERE e.status = 'Sending'
        UNION ALL
        SELECT e.tenant_id, e.id, 3, 'email.linked', jsonb_build_object(
                   'email_id', e.id, 'parent_type', e.parent_type, 'parent_id', e.parent_id,
                   'crm_account_id', e.crm_account_id, 'previous_parent_type', NULL, 'previous_parent_id', NULL)
        FROM new_emails e JOIN tenant t ON t.id = e.tenant_id AND t.events_enabled
        WHERE e.parent_id IS NOT NULL
    ) x
    GROUP BY x.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER email_inserted_events
    AFTER INSERT ON email REFERENCING NEW TABLE AS new_emails
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_inserted_events();

-- Changed email rows, per statement (a trigger with transition tables cannot name columns, so this
-- one runs for every UPDATE of `email`; it is one query over the statement's rows):
--   * `email.linked`: the parent record or its CRM account changed (set, moved, or cleared: then
--     `parent_type` and `parent_id` are null);
--   * `email.sent`: a queued email accepted by the server (Sending → Sent);
--   * `email.send_failed`: a queued email given up on (Sending → Failed), with the server's last
--     reason. A failed attempt that will be retried is no event: the email stays Sending;
--   * `email.queued`: an email put (back) into Sending by an update (a draft the CRM wrote as a row,
--     a failed one queued again), as an insert in Sending is.
CREATE OR REPLACE FUNCTION mailroom_email_updated_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_events(x.tenant_id, array_agg(x.type ORDER BY x.id, x.k), array_agg(x.payload ORDER BY x.id, x.k))
    FROM (
        SELECT n.tenant_id, n.id, k.k, k.type, k.payload
        FROM new_emails n
        JOIN old_emails o ON o.tenant_id = n.tenant_id AND o.id = n.id
        JOIN tenant t ON t.id = n.tenant_id AND t.events_enabled
        CROSS JOIN LATERAL (
            SELECT 1 AS k, 'email.linked' AS type, jsonb_build_object(
                       'email_id', n.id, 'parent_type', n.parent_type, 'parent_id', n.parent_id,
                       'crm_account_id', n.crm_account_id,
                       'previous_parent_type', o.parent_type, 'previous_parent_id', o.parent_id) AS payload
            WHERE (n.parent_type, n.parent_id, n.crm_account_id) IS DISTINCT FROM (o.parent_type, o.parent_id, o.crm_account_id)
            UNION ALL
            SELECT 2, 'email.sent', jsonb_build_object(
                       'email_id', n.id, 'message_id', n.message_id, 'account_id', n.send_account_id,
                       'user_id', n.created_by_user_id, 'parent_type', n.parent_type, 'parent_id', n.parent_id,
                       'attempts', n.send_attempts, 'sent_at', n.sent_at)
            WHERE o.status = 'Sending' AND n.status = 'Sent'
            UNION ALL
            SELECT 3, 'email.send_failed', jsonb_build_object(
                       'email_id', n.id, 'message_id', n.message_id, 'account_id', n.send_account_id,
                       'user_id', n.created_by_user_id, 'parent_type', n.parent_type, 'parent_id', n.parent_id,
                       'attempts', n.send_attempts, 'error', n.send_error)
            WHERE o.status = 'Sending' AND n.status = 'Failed'
            UNION ALL
            SELECT 4, 'email.queued', jsonb_build_object(
                       'email_id', n.id, 'message_id', n.message_id, 'subject', n.subject,
                       'account_id', n.send_account_id, 'user_id', n.created_by_user_id,
                       'is_auto_reply', n.is_auto_reply, 'reply_to_email_id', n.reply_to_email_id,
                       'parent_type', n.parent_type, 'parent_id', n.parent_id, 'queued_at', n.queued_at)
            WHERE o.status <> 'Sending' AND n.status = 'Sending'
        ) k
    ) x
    GROUP BY x.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER email_updated_events
    AFTER UPDATE ON email REFERENCING OLD TABLE AS old_emails NEW TABLE AS new_emails
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_updated_events();

------------------------------------------------------------------------------------------------
-- Cases
------------------------------------------------------------------------------------------------

-- New cases, per statement: `case.created`, then `case.assigned` for a case created with an assignee
-- (so a reader that follows assignments sees every one from `case.assigned` alone).
CREATE OR REPLACE FUNCTION mailroom_case_inserted_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_events(x.tenant_id, array_agg(x.type ORDER BY x.id, x.k), array_agg(x.payload ORDER BY x.id, x.k))
    FROM (
        SELECT c.tenant_id, c.id, 1 AS k, 'case.created' AS type, jsonb_build_object(
                   'case_id', c.id, 'number', c.number, 'name', c.name, 'status', c.status, 'priority', c.priority,
                   'type', c.type, 'team_id', c.team_id, 'assigned_user_id', c.assigned_user_id,
                   'contact_id', c.contact_id, 'account_id', c.account_id, 'lead_id', c.lead_id,
                   'source_account_id', c.source_account_id, 'created_by_user_id', c.created_by_user_id,
                   'created_at', c.created_at) AS payload
        FROM new_cases c JOIN tenant t ON t.id = c.tenant_id AND t.events_enabled
        UNION ALL
        SELECT c.tenant_id, c.id, 2, 'case.assigned', jsonb_build_object(
                   'case_id', c.id, 'number', c.number, 'assigned_user_id', c.assigned_user_id,
                   'previous_assigned_user_id', NULL, 'team_id', c.team_id)
        FROM new_cases c JOIN tenant t ON t.id = c.tenant_id AND t.events_enabled
        WHERE c.assigned_user_id IS NOT NULL
    ) x
    GROUP BY x.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER support_case_inserted_events
    AFTER INSERT ON support_case REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_case_inserted_events();

-- `case.assigned`: the assignee set, changed or removed (then `assigned_user_id` is null). Per row:
-- most updates of a case bump its last activity and pass no WHEN clause below.
CREATE OR REPLACE FUNCTION mailroom_case_assigned_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_event(NEW.tenant_id, 'case.assigned', jsonb_build_object(
        'case_id', NEW.id, 'number', NEW.number, 'assigned_user_id', NEW.assigned_user_id,
        'previous_assigned_user_id', OLD.assigned_user_id, 'team_id', NEW.team_id));
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER support_case_assigned_event
    AFTER UPDATE OF assigned_user_id ON support_case
    FOR EACH ROW WHEN (OLD.assigned_user_id IS DISTINCT FROM NEW.assigned_user_id)
    EXECUTE FUNCTION mailroom_case_assigned_event();

-- `case.reopened`: the status moves from one of the tenant's closed statuses
-- (`tenant.closed_case_statuses`) to one that is not, whoever moved it (an inbound reply under the
-- account's reopen rule, or a user).
CREATE OR REPLACE FUNCTION mailroom_case_reopened_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    closed text[];
BEGIN
    SELECT closed_case_statuses INTO closed FROM tenant WHERE id = NEW.tenant_id;
    IF OLD.status = ANY (closed) AND NOT NEW.status = ANY (closed) THEN
        PERFORM mailroom_emit_event(NEW.tenant_id, 'case.reopened', jsonb_build_object(
            'case_id', NEW.id, 'number', NEW.number, 'status', NEW.status, 'previous_status', OLD.status,
            'assigned_user_id', NEW.assigned_user_id, 'team_id', NEW.team_id));
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER support_case_reopened_event
    AFTER UPDATE OF status ON support_case
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION mailroom_case_reopened_event();

------------------------------------------------------------------------------------------------
-- Mail accounts and OAuth grants
------------------------------------------------------------------------------------------------

-- `account.connection_failed` / `account.connection_restored`: the account's connection error
-- (`mail_account.last_error`, the IMAP side's, written by the workers) goes from none to one, or
-- back. A poll that fails again, even with another message, is no transition and no event.
CREATE OR REPLACE FUNCTION mailroom_account_connection_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NEW.last_error IS NOT NULL THEN
        PERFORM mailroom_emit_event(NEW.tenant_id, 'account.connection_failed', jsonb_build_object(
            'account_id', NEW.id, 'kind', NEW.kind, 'name', NEW.name, 'address', NEW.address,
            'owner_user_id', NEW.owner_user_id, 'error', NEW.last_error, 'failed_at', NEW.last_error_at));
    ELSE
        PERFORM mailroom_emit_event(NEW.tenant_id, 'account.connection_restored', jsonb_build_object(
            'account_id', NEW.id, 'kind', NEW.kind, 'name', NEW.name, 'address', NEW.address,
            'owner_user_id', NEW.owner_user_id, 'failed_at', OLD.last_error_at, 'previous_error', OLD.last_error));
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER mail_account_connection_event
    AFTER UPDATE OF last_error ON mail_account
    FOR EACH ROW WHEN ((OLD.last_error IS NULL) <> (NEW.last_error IS NULL))
    EXECUTE FUNCTION mailroom_account_connection_event();

-- `account.reauth_required`: the account's OAuth grant enters `reauth_required` (the provider refused
-- the refresh token: someone must log in again; migrations/0010_oauth.sql). The reason is the
-- provider's (`state_reason`), never a token.
CREATE OR REPLACE FUNCTION mailroom_grant_reauth_event() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_event(NEW.tenant_id, 'account.reauth_required', (
        SELECT jsonb_build_object('account_id', a.id, 'kind', a.kind, 'name', a.name, 'address', a.address,
                                  'owner_user_id', a.owner_user_id, 'reason', NEW.state_reason,
                                  'since', NEW.state_changed_at)
        FROM mail_account a WHERE a.tenant_id = NEW.tenant_id AND a.id = NEW.account_id));
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER oauth_grant_reauth_event
    AFTER UPDATE OF state ON oauth_grant
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM 'reauth_required' AND NEW.state = 'reauth_required')
    EXECUTE FUNCTION mailroom_grant_reauth_event();

------------------------------------------------------------------------------------------------
-- Delivery reports
------------------------------------------------------------------------------------------------

-- `email.bounced`, per statement over the new `email_bounce` rows (one statement per recorded report,
-- functions/60_bounces.sql): one event per outbound email with a newly recorded failed recipient,
-- with those recipients (address, severity, status code) in address order, the worst severity
-- (hard when any is) and the first recipient's status code. Untied reports, and delayed or delivered
-- recipients, write no event; a report recorded again inserts no row and so writes none.
CREATE OR REPLACE FUNCTION mailroom_email_bounce_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM mailroom_emit_events(x.tenant_id, array_agg('email.bounced'::text ORDER BY x.email_id), array_agg(x.payload ORDER BY x.email_id))
    FROM (
        SELECT b.tenant_id, b.email_id, jsonb_build_object(
                   'email_id', b.email_id, 'message_id', e.message_id,
                   'report_email_id', min(b.report_email_id),
                   'case_id', CASE WHEN e.parent_type = 'case' THEN e.parent_id END,
                   'parent_type', e.parent_type, 'parent_id', e.parent_id,
                   'severity', CASE WHEN bool_or(b.severity = 'hard') THEN 'hard' ELSE 'soft' END,
                   'status_code', (array_agg(b.status_code ORDER BY b.recipient))[1],
                   'recipients', jsonb_agg(jsonb_build_object('address', b.recipient, 'severity', b.severity,
                                                              'status_code', b.status_code) ORDER BY b.recipient)) AS payload
        FROM new_bounces b
        JOIN email e ON e.tenant_id = b.tenant_id AND e.id = b.email_id
        JOIN tenant t ON t.id = b.tenant_id AND t.events_enabled
        WHERE b.action = 'failed'
        GROUP BY b.tenant_id, b.email_id, e.message_id, e.parent_type, e.parent_id
    ) x
    GROUP BY x.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER email_bounce_inserted_events
    AFTER INSERT ON email_bounce REFERENCING NEW TABLE AS new_bounces
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_bounce_events();
