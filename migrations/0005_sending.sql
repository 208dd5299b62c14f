-- Sending: outgoing mail, who may send through which account, auto-reply rate limits, SMTP health.
--
-- Outgoing mail lives in `email` like imported mail (one row, one thread model, one Message-ID
-- dedupe): the queue function writes the row with status 'Sending', its recipients (bcc included,
-- which never reach a header), attachments, the account link and a `send` job, all in the caller's
-- transaction. The worker composes, submits, and records 'Sent' (or 'Failed' with the server's
-- reason). Because the row already holds the Message-ID, the copy appended to the Sent folder or
-- delivered to another monitored mailbox of the tenant is linked on import, never stored as new.
--
-- "The user" is the email's created_by_user_id: the user on whose behalf the mail is sent. The
-- database cannot know which human is behind a connection (the host CRM and Mailroom share roles),
-- so the sending user is a column of the row and every row naming an account to send through is
-- checked against `mailroom_may_send` by a trigger: a plain INSERT by a non-permitted user fails
-- with SQLSTATE 42501. The only outgoing rows without a user are auto-replies, which must answer an
-- email received on that account while its auto-replies are on.

ALTER TABLE mail_account
    -- SMTP health, written by the worker; kept apart from last_error, which is the IMAP side's.
    ADD COLUMN smtp_last_error    text,
    ADD COLUMN smtp_last_error_at timestamptz,
    -- When the owner (personal) or the tenant's admins (group) were last told about an SMTP failure:
    -- at most once a day per account (MailDomain.SMTPAlertPolicy decides).
    ADD COLUMN smtp_alerted_at    timestamptz;

ALTER TABLE email
    -- The account an outgoing email is sent through; NULL for imported mail.
    ADD COLUMN send_account_id   bigint,
    -- The email this one answers (threading and the auto-reply rule).
    ADD COLUMN reply_to_email_id bigint,
    ADD COLUMN is_auto_reply     boolean NOT NULL DEFAULT false,
    ADD COLUMN queued_at         timestamptz,
    ADD COLUMN sent_at           timestamptz,
    ADD COLUMN send_attempts     integer NOT NULL DEFAULT 0,
    -- The server's reason for the last failed attempt (never credentials).
    ADD COLUMN send_error        text,
    ADD FOREIGN KEY (tenant_id, send_account_id) REFERENCES mail_account ON DELETE SET NULL (send_account_id),
    ADD FOREIGN KEY (tenant_id, reply_to_email_id) REFERENCES email ON DELETE SET NULL (reply_to_email_id);
-- The outbox: rows still to send, small whatever the history.
CREATE INDEX email_outbox ON email (tenant_id, queued_at) WHERE status IN ('Draft', 'Sending');

-- Who may send through which account. Invoker rights: row-level security hides other tenants'
-- accounts and users, so nobody may send from another tenant's account.
--   * the user must be active;
--   * admins may send from any account of their tenant;
--   * a personal account: only its owner;
--   * a group account: only when active, with SMTP, shared, and the user's roles grant 'all', or
--     'team' and the user is in one of the account's teams. 'no' grants nothing.
CREATE FUNCTION mailroom_may_send(p_user bigint, p_account bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((
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
          AND a.tenant_id = mailroom_current_tenant() AND a.id = p_account), false)
$$;

-- Enforces `mailroom_may_send` on every row that names an account to send through (insert, or an
-- update that changes the account or the user).
CREATE FUNCTION mailroom_email_check_sender() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_name text;
BEGIN
    IF NEW.send_account_id IS NULL THEN RETURN NEW; END IF;
    IF TG_OP = 'UPDATE' AND NEW.send_account_id IS NOT DISTINCT FROM OLD.send_account_id
       AND NEW.created_by_user_id IS NOT DISTINCT FROM OLD.created_by_user_id
       AND NEW.is_auto_reply = OLD.is_auto_reply THEN
        RETURN NEW;
    END IF;
    IF NEW.created_by_user_id IS NULL THEN
        -- An auto-reply: only from an account with auto-replies on, answering mail it received.
        IF NEW.is_auto_reply AND EXISTS (
            SELECT 1 FROM mail_account a JOIN email_account_link l
                ON l.tenant_id = a.tenant_id AND l.account_id = a.id AND l.email_id = NEW.reply_to_email_id
            WHERE a.tenant_id = NEW.tenant_id AND a.id = NEW.send_account_id AND a.auto_reply_enabled AND a.is_active) THEN
            RETURN NEW;
        END IF;
    ELSIF mailroom_may_send(NEW.created_by_user_id, NEW.send_account_id) THEN
        RETURN NEW;
    END IF;
    SELECT format('%s <%s>', name, address) INTO account_name
    FROM mail_account WHERE tenant_id = NEW.tenant_id AND id = NEW.send_account_id;
    RAISE EXCEPTION 'user % may not send from mail account % (%)', coalesce(NEW.created_by_user_id::text, '(none)'),
        NEW.send_account_id, coalesce(account_name, 'not visible to this tenant')
        USING ERRCODE = '42501';
END $$;
CREATE TRIGGER email_check_sender BEFORE INSERT OR UPDATE OF send_account_id, created_by_user_id, is_auto_reply ON email
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_check_sender();

-- True when `value` is a plain addr-spec Mailroom will put into RCPT TO and a header: no display
-- name, no comments, no line breaks, a dotted domain.
CREATE FUNCTION mailroom_valid_address(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT value ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$'
       AND length(value) <= 254 AND value !~ '^\.|\.\.|\.@'
$$;

-- Queues an email for sending, on behalf of `p_user`, through `p_account`; returns the email id.
-- Call inside a transaction scoped to the tenant (mailroom.tenant_id). Validates before writing
-- anything: a line break in any header value (subject, file names, content types), an invalid
-- address, no recipient, attachments together over the account's max_message_size, or a sender
-- without permission raise an error (22023, or 42501 for permission) and nothing is queued.
-- `p_attachments` is a JSON array of {"filename", "content_type", "data" (base64)}.
-- `p_message_id` (without brackets) lets the caller choose the Message-ID (e.g. one carrying a
-- signed record token); by default a random one in the account's domain.
CREATE FUNCTION mailroom_queue_email(
    p_account bigint, p_user bigint, p_to text[], p_cc text[] DEFAULT '{}', p_bcc text[] DEFAULT '{}',
    p_subject text DEFAULT NULL, p_text text DEFAULT NULL, p_html text DEFAULT NULL,
    p_attachments jsonb DEFAULT '[]', p_parent_type text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
    p_reply_to_email bigint DEFAULT NULL, p_message_id text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    acct mail_account;
    sender_name text;
    addr text;
    att jsonb;
    total bigint := 0;
    parent_email email;
    new_id bigint;
    mid text;
    pos integer;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO acct FROM mail_account WHERE tenant_id = t AND id = p_account;
    IF NOT mailroom_may_send(p_user, p_account) THEN
        RAISE EXCEPTION 'user % may not send from mail account % (%)', p_user, p_account,
            coalesce(format('%s <%s>', acct.name, acct.address), 'not visible to this tenant') USING ERRCODE = '42501';
    END IF;
    IF acct.smtp_host IS NULL THEN
        RAISE EXCEPTION 'mail account % <%> has no SMTP server', acct.name, acct.address USING ERRCODE = '22023';
    END IF;
    IF coalesce(p_subject, '') ~ '[\r\n]' THEN
        RAISE EXCEPTION 'the subject contains a line break' USING ERRCODE = '22023';
    END IF;
    IF coalesce(cardinality(p_to), 0) + coalesce(cardinality(p_cc), 0) + coalesce(cardinality(p_bcc), 0) = 0 THEN
        RAISE EXCEPTION 'the email has no recipient' USING ERRCODE = '22023';
    END IF;
    FOREACH addr IN ARRAY coalesce(p_to, '{}') || coalesce(p_cc, '{}') || coalesce(p_bcc, '{}') LOOP
        IF addr IS NULL OR NOT mailroom_valid_address(addr) THEN
            RAISE EXCEPTION 'invalid recipient address: %', left(regexp_replace(coalesce(addr, '(null)'), '[\r\n]', ' ', 'g'), 100)
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF jsonb_typeof(coalesce(p_attachments, '[]')) <> 'array' THEN
        RAISE EXCEPTION 'attachments must be a JSON array' USING ERRCODE = '22023';
    END IF;
    FOR att IN SELECT * FROM jsonb_array_elements(coalesce(p_attachments, '[]')) LOOP
        IF coalesce(att->>'filename', '') ~ '[\r\n]' OR coalesce(att->>'content_type', '') ~ '[\r\n]' THEN
            RAISE EXCEPTION 'an attachment''s file name or content type contains a line break' USING ERRCODE = '22023';
        END IF;
        IF coalesce(att->>'content_type', 'application/octet-stream') !~ '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$' THEN
            RAISE EXCEPTION 'invalid attachment content type: %', left(att->>'content_type', 100) USING ERRCODE = '22023';
        END IF;
        total := total + length(decode(coalesce(att->>'data', ''), 'base64'));
    END LOOP;
    IF total > acct.max_message_size THEN
        RAISE EXCEPTION 'attachments of % bytes exceed the limit of mail account % <%> (% bytes)',
            total, acct.name, acct.address, acct.max_message_size USING ERRCODE = '22023';
    END IF;
    IF p_reply_to_email IS NOT NULL THEN
        SELECT * INTO parent_email FROM email WHERE tenant_id = t AND id = p_reply_to_email;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the email % to reply to does not exist', p_reply_to_email USING ERRCODE = '22023';
        END IF;
    END IF;
    IF p_message_id IS NOT NULL AND (p_message_id ~ '[\s<>]' OR p_message_id !~ '^[^@]+@[^@]+$') THEN
        RAISE EXCEPTION 'invalid Message-ID: %', left(p_message_id, 100) USING ERRCODE = '22023';
    END IF;
    mid := coalesce(p_message_id, gen_random_uuid()::text || '@' || split_part(acct.address, '@', 2));
    IF acct.kind = 'group' THEN
        sender_name := acct.display_name;
    ELSE
        SELECT coalesce(acct.display_name, u.name) INTO sender_name FROM app_user u WHERE u.tenant_id = t AND u.id = acct.owner_user_id;
    END IF;

    INSERT INTO email (tenant_id, message_id, subject, from_address, from_name, body_text, body_html, in_reply_to,
                       "references", status, parent_type, parent_id, created_by_user_id, send_account_id,
                       reply_to_email_id, queued_at, size)
    VALUES (t, mid, p_subject, acct.address, sender_name, p_text, p_html, parent_email.message_id,
            CASE WHEN parent_email.id IS NULL THEN '{}'
                 ELSE parent_email."references" || parent_email.message_id END,
            'Sending', p_parent_type, p_parent_id, p_user, p_account, p_reply_to_email, now(), 0)
    RETURNING id INTO new_id;

    INSERT INTO email_recipient (tenant_id, email_id, kind, position, address, name)
    VALUES (t, new_id, 'from', 0, acct.address, sender_name);
    IF acct.reply_to IS NOT NULL THEN
        INSERT INTO email_recipient (tenant_id, email_id, kind, position, address) VALUES (t, new_id, 'reply_to', 0, acct.reply_to);
    END IF;
    INSERT INTO email_recipient (tenant_id, email_id, kind, position, address)
    SELECT t, new_id, k, (o - 1)::int, lower(a)
    FROM (SELECT 'to' AS k, a, o FROM unnest(coalesce(p_to, '{}')) WITH ORDINALITY AS x(a, o)
          UNION ALL SELECT 'cc', a, o FROM unnest(coalesce(p_cc, '{}')) WITH ORDINALITY AS x(a, o)
          UNION ALL SELECT 'bcc', a, o FROM unnest(coalesce(p_bcc, '{}')) WITH ORDINALITY AS x(a, o)) r;

    pos := 0;
    FOR att IN SELECT * FROM jsonb_array_elements(coalesce(p_attachments, '[]')) LOOP
        INSERT INTO attachment (tenant_id, email_id, position, filename, content_type, size, data)
        VALUES (t, new_id, pos, att->>'filename', coalesce(att->>'content_type', 'application/octet-stream'),
                length(decode(coalesce(att->>'data', ''), 'base64')), decode(coalesce(att->>'data', ''), 'base64'));
        pos := pos + 1;
    END LOOP;

    INSERT INTO email_account_link (tenant_id, email_id, account_id) VALUES (t, new_id, p_account);
    INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder) VALUES (t, new_id, p_user, true, 'sent');
    PERFORM mailroom_enqueue_send(new_id);
    RETURN new_id;
END $$;

-- Adds the `send` job of an outgoing email (one live job per email) and wakes the workers.
CREATE FUNCTION mailroom_enqueue_send(p_email bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    job_id bigint;
BEGIN
    INSERT INTO job_tenant_turn (tenant_id) VALUES (t) ON CONFLICT DO NOTHING;
    INSERT INTO job AS j (tenant_id, kind, payload, unique_key, max_attempts)
    VALUES (t, 'send', jsonb_build_object('email', p_email), 'send:email:' || p_email, 8)
    ON CONFLICT (tenant_id, unique_key) WHERE unique_key IS NOT NULL AND state IN ('ready', 'running')
    DO UPDATE SET run_at = least(j.run_at, excluded.run_at)
    RETURNING id INTO job_id;
    PERFORM pg_notify('mailroom_jobs', 'send');
    RETURN job_id;
END $$;

-- Auto-replies sent per (account, sender): the timestamps inside the sliding window.
CREATE TABLE auto_reply_sender (
    tenant_id  bigint NOT NULL,
    account_id bigint NOT NULL,
    sender     text NOT NULL CHECK (sender = lower(sender)),
    sent_at    timestamptz[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, account_id, sender),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE
);
SELECT mailroom_enable_tenant_rls('auto_reply_sender');

-- Takes one auto-reply slot for `p_sender` on `p_account` if fewer than auto_reply_limit_count were
-- taken within auto_reply_limit_window; returns whether it did. Atomic: the upsert locks the
-- sender's row and re-checks the window against its latest version, so concurrent importers of
-- the same sender never exceed the limit together.
CREATE FUNCTION mailroom_auto_reply_take(p_account bigint, p_sender text) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    lim integer;
    win interval;
    taken boolean;
BEGIN
    SELECT auto_reply_limit_count, auto_reply_limit_window INTO lim, win
    FROM mail_account WHERE tenant_id = t AND id = p_account;
    IF lim IS NULL OR lim <= 0 THEN RETURN false; END IF;
    INSERT INTO auto_reply_sender AS s (tenant_id, account_id, sender, sent_at)
    VALUES (t, p_account, lower(p_sender), ARRAY[now()])
    ON CONFLICT (tenant_id, account_id, sender) DO UPDATE
        SET sent_at = ARRAY(SELECT x FROM unnest(s.sent_at) x WHERE x > now() - win ORDER BY x) || now()
        WHERE (SELECT count(*) FROM unnest(s.sent_at) x WHERE x > now() - win) < lim
    RETURNING true INTO taken;
    RETURN coalesce(taken, false);
END $$;
