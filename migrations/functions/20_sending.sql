-- Outgoing mail, for every client of the database (docs/security.md, docs/crm.md):
--   * the acting user (`mailroom.user_id`) is the sender of what they queue, unless they are an admin;
--     a CRM transaction that queues or changes outgoing mail must name its acting user;
--   * rows without a sender are auto-replies, and only the service writes them;
--   * the content, recipients, attachments and status of a queued email change only by its sender,
--     an admin or the service; a sent email is never sent again, by anyone;
--   * a job to send it is made only by `mailroom_enqueue_send`, which re-checks the row.
-- "The service" is `mailroom_caller_trusted()`: the owner or the service role (functions/access.sql).

-- Whether an email row is outgoing mail (queued, sent, or written by a user), as opposed to mail
-- imported from a mailbox.
CREATE OR REPLACE FUNCTION mailroom_email_is_outgoing(e email) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT e.send_account_id IS NOT NULL OR e.is_auto_reply OR e.queued_at IS NOT NULL OR e.created_by_user_id IS NOT NULL
$$;

-- True when `value` is a plain addr-spec Mailroom will put into RCPT TO and a header: no display
-- name, no comments, no line breaks, a dotted domain whose labels are 1 to 63 letters, digits and
-- hyphens, neither starting nor ending with a hyphen (was 0005_sending.sql; this is the live
-- definition). The label rule is spelled as separate tests rather than one pattern with a bounded
-- repeat (`[A-Za-z0-9-]{0,61}`): PostgreSQL's regex engine took ~20 µs to match that, checked for
-- every recipient queued; these take ~1 µs. PL/pgSQL for its cached plan (functions/10_access.sql).
CREATE OR REPLACE FUNCTION mailroom_valid_address(value text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    domain text := split_part(value, '@', 2);
BEGIN
    RETURN value ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$'
       AND length(value) <= 254 AND value !~ '^\.|\.\.|\.@'
       AND domain !~ '(^|\.)-|-(\.|$)'
       AND (length(domain) <= 63 OR domain !~ '[^.]{64}');
END $$;

-- Whether an update changes what an outgoing email says, to whom, from where, or its sending state.
-- Linking it to a record (parent, CRM account) and import notes are not content.
CREATE OR REPLACE FUNCTION mailroom_email_content_changed(o email, n email) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (o.message_id, o.subject, o.from_address, o.from_name, o.body_text, o.body_html, o.headers,
            o.in_reply_to, o."references", o.status, o.created_by_user_id, o.send_account_id, o.reply_to_email_id,
            o.is_auto_reply, o.queued_at, o.sent_at, o.date_sent, o.size, o.send_attempts, o.send_error)
        IS DISTINCT FROM
           (n.message_id, n.subject, n.from_address, n.from_name, n.body_text, n.body_html, n.headers,
            n.in_reply_to, n."references", n.status, n.created_by_user_id, n.send_account_id, n.reply_to_email_id,
            n.is_auto_reply, n.queued_at, n.sent_at, n.date_sent, n.size, n.send_attempts, n.send_error)
$$;

-- Who may send through which account (was 0005_sending.sql; this is the live definition). Rows of
-- the current tenant only (its own filter, and row-level security, which binds the owner too), so
-- nobody may send from another tenant's account.
--   * the user must be active;
--   * admins may send from any account of their tenant;
--   * a personal account: only its owner;
--   * a group account: only when active, with SMTP, shared, and the user's roles grant 'all', or
--     'team' and the user is in one of the account's teams. 'no' grants nothing.
-- PL/pgSQL for its cached plan (functions/10_access.sql says why). SECURITY DEFINER so that the plan
-- stays cached: it is asked by the CRM's own statements and again inside `mailroom_enqueue_sends`
-- (owner rights), and PostgreSQL plans a query under row-level security again whenever the role it
-- runs as differs from the last time, which made every CRM queue call plan it three times. Owner
-- rights see no more: the owner is bound by the tenant policy of every table read here (FORCE), and
-- the function reads only the current tenant's rows and returns a boolean.
CREATE OR REPLACE FUNCTION mailroom_may_send(p_user bigint, p_account bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN coalesce((
        SELECT CASE
            WHEN NOT u.is_active THEN false
            WHEN u.is_admin THEN true
            WHEN a.kind = 'personal' THEN a.owner_user_id = u.id
            WHEN NOT (a.is_active AND a.smtp_host IS NOT NULL AND a.smtp_shared) THEN false
            ELSE EXISTS (
                SELECT 1 FROM user_role ur JOIN role r ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id
                WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id
                  AND (r.group_email_account_permission = 'all'
                       OR (r.group_email_account_permission = 'team' AND EXISTS (
                            SELECT 1 FROM team_user tu JOIN mail_account_team mt
                                ON mt.tenant_id = tu.tenant_id AND mt.team_id = tu.team_id
                            WHERE tu.tenant_id = u.tenant_id AND tu.user_id = u.id AND mt.account_id = a.id))))
            END
        FROM app_user u, mail_account a
        WHERE u.tenant_id = mailroom_current_tenant() AND u.id = p_user
          AND a.tenant_id = mailroom_current_tenant() AND a.id = p_account), false);
END $$;

-- Why the caller may not write an outgoing email whose sender is `p_sender`, or NULL when it may.
-- The acting user is read by a query without parameters, the decision made in PL/pgSQL: a query
-- using `p_sender` would be planned again at most calls (a custom plan per parameter value).
CREATE OR REPLACE FUNCTION mailroom_outgoing_refusal(p_sender bigint) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    u record;
BEGIN
    IF mailroom_caller_trusted() THEN
        RETURN NULL;
    END IF;
    IF mailroom_current_user() IS NULL THEN
        RETURN 'no acting user: set mailroom.user_id for this transaction';
    END IF;
    SELECT a.id, a.is_active, a.is_admin INTO u
    FROM app_user a WHERE a.tenant_id = mailroom_current_tenant() AND a.id = mailroom_current_user();
    RETURN CASE
        WHEN u.id IS NULL THEN 'the acting user is not a user of this tenant'
        WHEN NOT u.is_active THEN 'the acting user is inactive'
        WHEN u.is_admin THEN NULL
        WHEN p_sender IS NULL THEN 'only the service writes outgoing mail without a sender'
        WHEN p_sender = u.id THEN NULL
        ELSE 'outgoing mail is written only by its sender or an admin'
        END;
END $$;

-- Raises SQLSTATE 42501 "may not <verb> email <id>: <why>" when `p_why` is set. Never echoes content.
CREATE OR REPLACE FUNCTION mailroom_refuse_email(p_why text, p_verb text, p_email bigint) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF p_why IS NOT NULL THEN
        RAISE EXCEPTION 'may not % email %: %', p_verb, coalesce(p_email::text, '(new)'), p_why USING ERRCODE = '42501';
    END IF;
END $$;

-- Changes and deletes, row by row (each needs the old row): a sent email never changes status back
-- (only on to Bounced) or loses its sent_at; for a client that is not the service, the sanitised HTML is the service's,
-- and an outgoing email changes only by its sender or an admin (`mailroom_outgoing_refusal`). New
-- rows are checked once per statement (`email_check_new_access`, below).
CREATE OR REPLACE FUNCTION mailroom_email_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Never twice, whoever asks: not by setting it back to Sending, not by clearing sent_at. A sent
    -- email may only become Bounced (a delivery report said a recipient failed, functions/60_bounces.sql),
    -- and a bounced one stays so.
    IF TG_OP = 'UPDATE' AND OLD.status IN ('Sent', 'Bounced')
       AND (NEW.status NOT IN (OLD.status, 'Bounced') OR NEW.sent_at IS DISTINCT FROM OLD.sent_at) THEN
        PERFORM mailroom_refuse_email('it was sent, and a sent email is never sent again', 'change', OLD.id);
    END IF;
    IF mailroom_caller_trusted() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    -- The sanitised HTML is the service's (0009_sanitized_html.sql): a client that could write it would
    -- hand the CRM's users HTML nobody sanitised. A client's new HTML drops the copy (NULL: not yet
    -- sanitised; the worker or `mailroom export` sanitises it).
    IF TG_OP = 'UPDATE' THEN
        IF NEW.body_html IS DISTINCT FROM OLD.body_html AND NEW.body_html_safe IS NOT DISTINCT FROM OLD.body_html_safe THEN
            NEW.body_html_safe := NULL;
        END IF;
        IF NEW.body_html_safe IS NOT NULL AND NEW.body_html_safe IS DISTINCT FROM OLD.body_html_safe THEN
            PERFORM mailroom_refuse_email('only the service writes the sanitised HTML (body_html_safe)', 'change', NEW.id);
        END IF;
    END IF;
    IF mailroom_email_is_outgoing(OLD) AND (TG_OP = 'DELETE' OR mailroom_email_content_changed(OLD, NEW)) THEN
        IF TG_OP = 'UPDATE' AND OLD.status IN ('Sent', 'Bounced') THEN
            PERFORM mailroom_refuse_email('a sent email cannot be changed', 'change', OLD.id);
        END IF;
        PERFORM mailroom_refuse_email(mailroom_outgoing_refusal(OLD.created_by_user_id),
            mailroom_write_verb(TG_OP), OLD.id);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF mailroom_email_is_outgoing(NEW) AND mailroom_email_content_changed(OLD, NEW) THEN
        IF NEW.is_auto_reply THEN
            PERFORM mailroom_refuse_email('only the service queues auto-replies', 'change', NEW.id);
        END IF;
        IF NEW.send_account_id IS NOT NULL AND NEW.created_by_user_id IS NULL THEN
            PERFORM mailroom_refuse_email('outgoing mail needs a sender (created_by_user_id)', 'change', NEW.id);
        END IF;
        PERFORM mailroom_refuse_email(mailroom_outgoing_refusal(NEW.created_by_user_id), 'change', NEW.id);
    END IF;
    RETURN NEW;
END $$;
-- Fires before the sender check of a change (email_check_sender; BEFORE triggers fire in name
-- order): a caller who may not write the row learns that, not a permission detail.
CREATE OR REPLACE TRIGGER email_access BEFORE UPDATE OR DELETE ON email
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_access();

-- New emails, once per statement, for a client that is not the service: the same rules as a change
-- (no sanitised HTML, no auto-reply, outgoing mail has a sender, and the acting user may write it),
-- the acting user's right asked once per distinct sender rather than per row, so the CRM queueing a
-- batch pays one check, not one per email. Raises for the first refused row in id order. After the
-- statement, the row triggers and foreign keys have run: a sender's account outside the tenant is
-- refused by email_check_sender first (it names the account). Named to fire before
-- email_check_new_senders (AFTER triggers also fire in name order): a caller who may not write the
-- rows learns that, not a permission detail.
CREATE OR REPLACE FUNCTION mailroom_email_check_new_access() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n record;
    allowed bigint[] := '{}';
BEGIN
    IF mailroom_caller_trusted() THEN
        RETURN NULL;
    END IF;
    -- A plain scan and a loop rather than one query joining a per-sender subquery: a query on a
    -- transition table is planned again at every statement, and a simple one plans in microseconds.
    -- The outgoing test is mailroom_email_is_outgoing's, inline: a SQL function called here would be
    -- parsed and planned again at every statement too.
    FOR n IN
        SELECT x.id, x.body_html_safe IS NOT NULL AS sanitised, x.is_auto_reply, x.send_account_id, x.created_by_user_id AS sender,
               x.send_account_id IS NOT NULL OR x.is_auto_reply OR x.queued_at IS NOT NULL OR x.created_by_user_id IS NOT NULL AS outgoing
        FROM new_emails x ORDER BY x.id
    LOOP
        IF n.sanitised THEN
            PERFORM mailroom_refuse_email('only the service writes the sanitised HTML (body_html_safe)', 'create', n.id);
        END IF;
        CONTINUE WHEN NOT n.outgoing;
        IF n.is_auto_reply THEN
            PERFORM mailroom_refuse_email('only the service queues auto-replies', 'create', n.id);
        END IF;
        IF n.send_account_id IS NOT NULL AND n.sender IS NULL THEN
            PERFORM mailroom_refuse_email('outgoing mail needs a sender (created_by_user_id)', 'create', n.id);
        END IF;
        -- The acting user's right, once per distinct sender.
        IF NOT coalesce(n.sender = ANY (allowed), false) THEN
            PERFORM mailroom_refuse_email(mailroom_outgoing_refusal(n.sender), 'create', n.id);
            allowed := allowed || n.sender;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER email_check_new_access
    AFTER INSERT ON email REFERENCING NEW TABLE AS new_emails
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_check_new_access();

-- Recipients and attachments of outgoing mail: written by whoever may write the email, never once
-- sent. Changes and deletes row by row; new rows once per statement (below).
CREATE OR REPLACE FUNCTION mailroom_email_part_access() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eid bigint;
    e email;
BEGIN
    IF mailroom_caller_trusted() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    FOR eid IN
        SELECT DISTINCT x FROM unnest(ARRAY[OLD.email_id, CASE WHEN TG_OP = 'UPDATE' THEN NEW.email_id END]) AS x
        WHERE x IS NOT NULL
    LOOP
        SELECT * INTO e FROM email WHERE tenant_id = mailroom_current_tenant() AND id = eid;
        -- Not visible: the cascade of the email's own delete (checked there), or a foreign key
        -- violation to come.
        CONTINUE WHEN NOT FOUND OR NOT mailroom_email_is_outgoing(e);
        IF e.status IN ('Sent', 'Bounced') THEN
            PERFORM mailroom_refuse_email('recipients and attachments of a sent email cannot change', 'change', eid);
        END IF;
        PERFORM mailroom_refuse_email(mailroom_outgoing_refusal(e.created_by_user_id), 'change', eid);
    END LOOP;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE OR REPLACE TRIGGER email_recipient_access BEFORE UPDATE OR DELETE ON email_recipient
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_part_access();
CREATE OR REPLACE TRIGGER attachment_access BEFORE UPDATE OR DELETE ON attachment
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_part_access();

-- New recipients and attachments, once per statement: each distinct email they belong to is read
-- once (after the statement, so emails inserted by the same statement are seen), and the writer's
-- right asked once per distinct sender. Raises for the first refused email in id order. An email
-- not visible is a foreign key violation, raised before this runs.
CREATE OR REPLACE FUNCTION mailroom_email_check_new_parts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e record;
    allowed bigint[] := '{}';
BEGIN
    IF mailroom_caller_trusted() THEN
        RETURN NULL;
    END IF;
    -- Simple queries and a loop, as in mailroom_email_check_new_access (it says why).
    FOR e IN
        SELECT m.id, m.status, m.created_by_user_id AS sender
        FROM (SELECT DISTINCT p.email_id FROM new_parts p) p
        JOIN email m ON m.tenant_id = mailroom_current_tenant() AND m.id = p.email_id
        WHERE m.send_account_id IS NOT NULL OR m.is_auto_reply OR m.queued_at IS NOT NULL OR m.created_by_user_id IS NOT NULL
        ORDER BY m.id
    LOOP
        IF e.status IN ('Sent', 'Bounced') THEN
            PERFORM mailroom_refuse_email('recipients and attachments of a sent email cannot change', 'change', e.id);
        END IF;
        IF NOT coalesce(e.sender = ANY (allowed), false) THEN
            PERFORM mailroom_refuse_email(mailroom_outgoing_refusal(e.sender), 'change', e.id);
            allowed := allowed || e.sender;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER email_recipient_check_new_access
    AFTER INSERT ON email_recipient REFERENCING NEW TABLE AS new_parts
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_check_new_parts();
CREATE OR REPLACE TRIGGER attachment_check_new_access
    AFTER INSERT ON attachment REFERENCING NEW TABLE AS new_parts
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_check_new_parts();

-- Enforces `mailroom_may_send` on every row that names an account to send through: on insert, when
-- the account, the sender or the auto-reply flag changes, and when the email goes (back) to Sending.
-- A row without a sender is an auto-reply (written by the service only, see mailroom_email_access):
-- only from an account with auto-replies on, answering mail it received or mail addressed to it (the
-- owner of a case answers its new case before its own copy may be imported, 62_case_owner.sql).
-- Inserts are checked once per statement (`email_check_new_senders`): each distinct (sender, account)
-- pair once, so a batch of a thousand emails from one sender asks once; updates row by row.
CREATE OR REPLACE FUNCTION mailroom_email_sender_refused(p_tenant bigint, p_user bigint, p_account bigint,
                                                         p_auto_reply boolean, p_answered bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_user IS NOT NULL THEN
        RETURN NOT mailroom_may_send(p_user, p_account);
    END IF;
    RETURN NOT (coalesce(p_auto_reply, false) AND EXISTS (
        SELECT 1 FROM mail_account a
        WHERE a.tenant_id = p_tenant AND a.id = p_account AND a.auto_reply_enabled AND a.is_active
          AND (EXISTS (SELECT 1 FROM email_account_link l
                       WHERE l.tenant_id = a.tenant_id AND l.account_id = a.id AND l.email_id = p_answered)
               OR mailroom_email_addresses_account(p_tenant, p_answered, p_account))));
END $$;

-- Raises SQLSTATE 42501 "user <id> may not send from mail account <id> (<name> <address>)".
CREATE OR REPLACE FUNCTION mailroom_refuse_sender(p_tenant bigint, p_user bigint, p_account bigint) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    account_name text;
BEGIN
    SELECT format('%s <%s>', name, address) INTO account_name FROM mail_account WHERE tenant_id = p_tenant AND id = p_account;
    RAISE EXCEPTION 'user % may not send from mail account % (%)', coalesce(p_user::text, '(none)'),
        p_account, coalesce(account_name, 'not visible to this tenant')
        USING ERRCODE = '42501';
END $$;

CREATE OR REPLACE FUNCTION mailroom_email_check_sender() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.send_account_id IS NULL THEN RETURN NEW; END IF;
    IF TG_OP = 'INSERT' THEN
        -- The sender's right is asked once per statement (email_check_new_senders); here only whether
        -- the account is visible in the tenant, so another tenant's account is refused as a permission
        -- (42501, naming the account) before its foreign key would fail.
        IF NOT EXISTS (SELECT 1 FROM mail_account WHERE tenant_id = NEW.tenant_id AND id = NEW.send_account_id) THEN
            PERFORM mailroom_refuse_sender(NEW.tenant_id, NEW.created_by_user_id, NEW.send_account_id);
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.send_account_id IS NOT DISTINCT FROM OLD.send_account_id
       AND NEW.created_by_user_id IS NOT DISTINCT FROM OLD.created_by_user_id
       AND NEW.is_auto_reply = OLD.is_auto_reply
       AND NOT (NEW.status = 'Sending' AND OLD.status IS DISTINCT FROM 'Sending') THEN
        RETURN NEW;
    END IF;
    IF mailroom_email_sender_refused(NEW.tenant_id, NEW.created_by_user_id, NEW.send_account_id, NEW.is_auto_reply,
                                     NEW.reply_to_email_id) THEN
        PERFORM mailroom_refuse_sender(NEW.tenant_id, NEW.created_by_user_id, NEW.send_account_id);
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER email_check_sender
    BEFORE INSERT OR UPDATE OF send_account_id, created_by_user_id, is_auto_reply, status ON email
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_check_sender();

CREATE OR REPLACE FUNCTION mailroom_email_check_new_senders() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- MATERIALIZED: the check must run per pair, not be pushed below the DISTINCT to run per row.
    WITH p AS MATERIALIZED (
        SELECT DISTINCT tenant_id, created_by_user_id, send_account_id,
               CASE WHEN created_by_user_id IS NULL THEN is_auto_reply END AS auto_reply,
               CASE WHEN created_by_user_id IS NULL THEN reply_to_email_id END AS answered
        FROM new_emails WHERE send_account_id IS NOT NULL)
    SELECT p.* INTO bad FROM p
    WHERE mailroom_email_sender_refused(p.tenant_id, p.created_by_user_id, p.send_account_id, p.auto_reply, p.answered)
    LIMIT 1;
    IF FOUND THEN
        PERFORM mailroom_refuse_sender(bad.tenant_id, bad.created_by_user_id, bad.send_account_id);
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER email_check_new_senders
    AFTER INSERT ON email REFERENCING NEW TABLE AS new_emails
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_email_check_new_senders();

-- Adds the `send` jobs of outgoing emails (one live job per email) and wakes the workers once.
-- SECURITY DEFINER: the CRM role has no right on the queue's tables, so this is its one way to ask
-- for a send. It checks the rows instead of the caller's rights: each email must be this tenant's,
-- waiting to be sent and never sent, and its sender must (still) be allowed to send from its account
-- (asked once per sender and account), or it is an auto-reply (which only the service can have
-- written). Owner rights read the emails through the tenant policy, so another tenant's email is
-- "not found". All or nothing: the first email (in the given order) that fails a check fails the call.
-- Returns the job ids, one per email.
CREATE OR REPLACE FUNCTION mailroom_enqueue_sends(p_emails bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    bad record;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    -- One query: the first email (in order) that is not waiting to be sent, then the first (sender,
    -- account) pair no longer allowed; MATERIALIZED so the permission is asked per pair, not pushed
    -- below the DISTINCT to run per email.
    WITH given AS MATERIALIZED (
        SELECT x.id, x.ord, e.id IS NOT NULL AS present, e.status, e.sent_at IS NULL AND e.send_account_id IS NOT NULL AS waiting,
               e.created_by_user_id AS sender, e.send_account_id AS account, e.is_auto_reply
        FROM unnest(p_emails) WITH ORDINALITY AS x(id, ord)
        LEFT JOIN email e ON e.tenant_id = t AND e.id = x.id
    ), pairs AS MATERIALIZED (
        SELECT DISTINCT g.sender, g.account FROM given g WHERE g.present AND g.sender IS NOT NULL AND g.account IS NOT NULL
    )
    SELECT * INTO bad FROM (
        SELECT 1 AS step, g.ord, g.id, g.present, g.status, g.waiting, NULL::bigint AS sender, NULL::bigint AS account
        FROM given g
        WHERE NOT g.present OR g.status <> 'Sending' OR NOT g.waiting OR (g.sender IS NULL AND NOT g.is_auto_reply)
        UNION ALL
        SELECT 2, 0, NULL, true, NULL, true, p.sender, p.account FROM pairs p WHERE NOT mailroom_may_send(p.sender, p.account)
    ) problems ORDER BY step, ord LIMIT 1;
    IF FOUND THEN
        IF bad.step = 2 THEN
            RAISE EXCEPTION 'user % may not send from mail account %', bad.sender, bad.account USING ERRCODE = '42501';
        ELSIF NOT bad.present THEN
            RAISE EXCEPTION 'email % does not exist in this tenant', bad.id USING ERRCODE = '22023';
        ELSIF bad.status <> 'Sending' OR NOT bad.waiting THEN
            RAISE EXCEPTION 'email % is not waiting to be sent (status %)', bad.id, bad.status USING ERRCODE = '22023';
        END IF;
        RAISE EXCEPTION 'email % has no sender', bad.id USING ERRCODE = '42501';
    END IF;
    RETURN ARRAY(
        SELECT j FROM mailroom_enqueue_jobs(t, 'send',
            ARRAY(SELECT jsonb_build_object('email', x) FROM unnest(p_emails) WITH ORDINALITY AS u(x, o) ORDER BY o),
            ARRAY(SELECT 'send:email:' || x FROM unnest(p_emails) WITH ORDINALITY AS u(x, o) ORDER BY o),
            p_max_attempts => 8) AS j);
END $$;

-- `mailroom_enqueue_sends` for one email; returns its job id.
CREATE OR REPLACE FUNCTION mailroom_enqueue_send(p_email bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN (mailroom_enqueue_sends(ARRAY[p_email]))[1];
END $$;
