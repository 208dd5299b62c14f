-- Queues an email for sending; returns its id. The one way the host CRM, `mailroom send` and case
-- replies queue mail (auto-replies are the service's own rows, see AutoReplyQueries).
-- Call inside a transaction scoped to the tenant (mailroom.tenant_id) and, from the CRM, to the acting
-- user (mailroom.user_id), who is the sender: `p_user` may name another user only when the acting user
-- is an admin, and NULL means the acting user. Validates before writing anything: a line break in
-- any header value, an invalid address, no recipient, attachments together over the account's
-- max_message_size, or a sender without permission raise an error (22023, or 42501 for permission)
-- and nothing is queued. Errors name the parameter and position, never the value.
-- `p_attachments` is a JSON array of {"filename", "content_type", "data" (base64)}.
-- `p_message_id` (without brackets) lets the caller choose the Message-ID; by default a random one in
-- the account's domain.
-- For a reply on a case (p_parent_type 'case'):
--   * the case must exist in the tenant (22023 otherwise);
--   * p_account NULL means the case's source account (22023 when it has none);
--   * the subject is tagged with the case number exactly once (`mailroom_case_subject`);
--   * p_reply_to_email NULL means the case's latest inbound email (`mailroom_case_latest_inbound`),
--     whose Message-ID becomes In-Reply-To and whose References + Message-ID the References chain;
--   * the email carries the case's CRM account.
-- For any reply (p_reply_to_email given or found): with no recipient at all, the reply goes to the
-- answered email's Reply-To addresses, else its From address.
-- The worker replaces the Message-ID with one carrying the parent's signed record token before the
-- first submission (0006_case_replies.sql).
CREATE OR REPLACE FUNCTION mailroom_queue_email(
    p_account bigint, p_user bigint, p_to text[], p_cc text[] DEFAULT '{}', p_bcc text[] DEFAULT '{}',
    p_subject text DEFAULT NULL, p_text text DEFAULT NULL, p_html text DEFAULT NULL,
    p_attachments jsonb DEFAULT '[]', p_parent_type text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
    p_reply_to_email bigint DEFAULT NULL, p_message_id text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    acct mail_account;
    v_account bigint := p_account;
    v_reply_to bigint := p_reply_to_email;
    v_subject text := p_subject;
    to_list text[] := coalesce(p_to, '{}');
    sc support_case;
    sender_name text;
    addr text;
    att jsonb;
    total bigint := 0;
    parent_email email;
    new_id bigint;
    mid text;
    pos integer;
    v_user bigint := coalesce(p_user, CASE WHEN NOT mailroom_caller_trusted() THEN mailroom_current_user() END);
    addr_pos integer := 0;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    -- The acting user is the sender unless an admin (functions/20_sending.sql); checked again by
    -- mailroom_email_access on the row itself.
    PERFORM mailroom_refuse_email(mailroom_outgoing_refusal(v_user), 'create', NULL);
    IF p_parent_type = 'case' THEN
        SELECT * INTO sc FROM support_case WHERE tenant_id = t AND id = p_parent_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'case % does not exist', p_parent_id USING ERRCODE = '22023';
        END IF;
        v_account := coalesce(v_account, sc.source_account_id);
        IF v_account IS NULL THEN
            RAISE EXCEPTION 'case #% has no mail account it came from: name the account to send from', sc.number
                USING ERRCODE = '22023';
        END IF;
        v_reply_to := coalesce(v_reply_to, mailroom_case_latest_inbound(sc.id));
    END IF;
    IF v_account IS NULL THEN
        RAISE EXCEPTION 'no mail account to send from' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO acct FROM mail_account WHERE tenant_id = t AND id = v_account;
    IF NOT mailroom_may_send(v_user, v_account) THEN
        RAISE EXCEPTION 'user % may not send from mail account % (%)', coalesce(v_user::text, '(none)'), v_account,
            coalesce(format('%s <%s>', acct.name, acct.address), 'not visible to this tenant') USING ERRCODE = '42501';
    END IF;
    IF acct.smtp_host IS NULL THEN
        RAISE EXCEPTION 'mail account % <%> has no SMTP server', acct.name, acct.address USING ERRCODE = '22023';
    END IF;
    IF coalesce(p_subject, '') ~ '[\r\n]' THEN
        RAISE EXCEPTION 'the subject contains a line break' USING ERRCODE = '22023';
    END IF;
    IF sc.id IS NOT NULL THEN
        v_subject := mailroom_case_subject(p_subject, sc.number);
    END IF;
    IF v_reply_to IS NOT NULL THEN
        SELECT * INTO parent_email FROM email WHERE tenant_id = t AND id = v_reply_to;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the email % to reply to does not exist', v_reply_to USING ERRCODE = '22023';
        END IF;
        IF cardinality(to_list) + coalesce(cardinality(p_cc), 0) + coalesce(cardinality(p_bcc), 0) = 0 THEN
            -- A reply without recipients answers whoever the email asked answers to go to.
            SELECT coalesce(array_agg(r.address ORDER BY r.position), '{}') INTO to_list
            FROM email_recipient r WHERE r.tenant_id = t AND r.email_id = parent_email.id AND r.kind = 'reply_to';
            IF cardinality(to_list) = 0 AND parent_email.from_address IS NOT NULL THEN
                to_list := ARRAY[parent_email.from_address];
            END IF;
        END IF;
    END IF;
    IF cardinality(to_list) + coalesce(cardinality(p_cc), 0) + coalesce(cardinality(p_bcc), 0) = 0 THEN
        RAISE EXCEPTION 'the email has no recipient' USING ERRCODE = '22023';
    END IF;
    FOREACH addr IN ARRAY to_list || coalesce(p_cc, '{}') || coalesce(p_bcc, '{}') LOOP
        addr_pos := addr_pos + 1;
        IF addr IS NULL OR NOT mailroom_valid_address(addr) THEN
            RAISE EXCEPTION 'invalid recipient address (recipient % of To, Cc and Bcc in order)', addr_pos
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF jsonb_typeof(coalesce(p_attachments, '[]')) <> 'array' THEN
        RAISE EXCEPTION 'attachments must be a JSON array' USING ERRCODE = '22023';
    END IF;
    pos := 0;
    FOR att IN SELECT * FROM jsonb_array_elements(coalesce(p_attachments, '[]')) LOOP
        pos := pos + 1;
        IF coalesce(att->>'filename', '') ~ '[\r\n]' OR coalesce(att->>'content_type', '') ~ '[\r\n]' THEN
            RAISE EXCEPTION 'an attachment''s file name or content type contains a line break' USING ERRCODE = '22023';
        END IF;
        IF coalesce(att->>'content_type', 'application/octet-stream') !~ '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$' THEN
            RAISE EXCEPTION 'invalid attachment content type (attachment %)', pos USING ERRCODE = '22023';
        END IF;
        total := total + length(decode(coalesce(att->>'data', ''), 'base64'));
    END LOOP;
    IF total > acct.max_message_size THEN
        RAISE EXCEPTION 'attachments of % bytes exceed the limit of mail account % <%> (% bytes)',
            total, acct.name, acct.address, acct.max_message_size USING ERRCODE = '22023';
    END IF;
    IF p_message_id IS NOT NULL AND (p_message_id ~ '[\s<>]' OR p_message_id !~ '^[^@]+@[^@]+$') THEN
        RAISE EXCEPTION 'invalid Message-ID (p_message_id)' USING ERRCODE = '22023';
    END IF;
    mid := coalesce(p_message_id, gen_random_uuid()::text || '@' || split_part(acct.address, '@', 2));
    IF acct.kind = 'group' THEN
        sender_name := acct.display_name;
    ELSE
        SELECT coalesce(acct.display_name, u.name) INTO sender_name FROM app_user u WHERE u.tenant_id = t AND u.id = acct.owner_user_id;
    END IF;

    INSERT INTO email (tenant_id, message_id, subject, from_address, from_name, body_text, body_html, in_reply_to,
                       "references", status, parent_type, parent_id, crm_account_id, created_by_user_id, send_account_id,
                       reply_to_email_id, queued_at, size)
    VALUES (t, mid, v_subject, acct.address, sender_name, p_text, p_html, parent_email.message_id,
            CASE WHEN parent_email.id IS NULL THEN '{}'
                 ELSE parent_email."references" || parent_email.message_id END,
            'Sending', p_parent_type, p_parent_id, sc.account_id, v_user, v_account, v_reply_to, now(), 0)
    RETURNING id INTO new_id;

    INSERT INTO email_recipient (tenant_id, email_id, kind, position, address, name)
    VALUES (t, new_id, 'from', 0, acct.address, sender_name);
    IF acct.reply_to IS NOT NULL THEN
        INSERT INTO email_recipient (tenant_id, email_id, kind, position, address) VALUES (t, new_id, 'reply_to', 0, acct.reply_to);
    END IF;
    INSERT INTO email_recipient (tenant_id, email_id, kind, position, address)
    SELECT t, new_id, k, (o - 1)::int, lower(a)
    FROM (SELECT 'to' AS k, a, o FROM unnest(to_list) WITH ORDINALITY AS x(a, o)
          UNION ALL SELECT 'cc', a, o FROM unnest(coalesce(p_cc, '{}')) WITH ORDINALITY AS x(a, o)
          UNION ALL SELECT 'bcc', a, o FROM unnest(coalesce(p_bcc, '{}')) WITH ORDINALITY AS x(a, o)) r;

    pos := 0;
    FOR att IN SELECT * FROM jsonb_array_elements(coalesce(p_attachments, '[]')) LOOP
        INSERT INTO attachment (tenant_id, email_id, position, filename, content_type, size, data)
        VALUES (t, new_id, pos, att->>'filename', coalesce(att->>'content_type', 'application/octet-stream'),
                length(decode(coalesce(att->>'data', ''), 'base64')), decode(coalesce(att->>'data', ''), 'base64'));
        pos := pos + 1;
    END LOOP;

    INSERT INTO email_account_link (tenant_id, email_id, account_id) VALUES (t, new_id, v_account);
    INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder) VALUES (t, new_id, v_user, true, 'sent');
    PERFORM mailroom_enqueue_send(new_id);
    RETURN new_id;
END $$;
