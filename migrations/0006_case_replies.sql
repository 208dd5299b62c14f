-- Case replies: mail queued on a support case goes out from the case's group account, with `[#N]`
-- in the subject exactly once and threaded to the case's latest inbound email.
--
-- What the database decides and what the worker decides:
--   * here, in `mailroom_queue_email`, everything that follows from rows: the account to send from
--     (the case's source account unless the caller names one), the tagged subject (it reads
--     support_case.number), the email answered (the case's latest inbound email unless the caller
--     names one) and therefore In-Reply-To and References, the default recipient, the CRM account;
--   * in the worker, the signed Message-ID: its MAC needs the tenant's key, derived from
--     MAILROOM_SECRET_KEY, which the database never sees. The worker writes it on the row in the
--     transaction that starts the first attempt, before anything is submitted; later attempts find a
--     Message-ID that verifies for the email's parent and keep it, so every retry submits the same one.

-- `p_subject` with the case tag `[#<p_number>]` exactly once. A subject that already carries the tag
-- (as `[#N]` or with leading zeros, the forms `CaseNumberTag.parse` reads) keeps its first one and
-- loses any repetition; otherwise the tag goes after the leading reply and forward prefixes
-- ("Re: Printer" → "Re: [#12] Printer"), so it is the first tag a reader of the subject meets. Tags of
-- other cases the user typed are left alone.
CREATE FUNCTION mailroom_case_subject(p_subject text, p_number bigint) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s text := btrim(coalesce(p_subject, ''));
    tag_re text := '\[#0*' || p_number || '\]';
    first_end integer;
    parts text[];
    prefix text;
    rest text;
BEGIN
    IF s ~ tag_re THEN
        -- Keep everything up to the end of the first tag; drop later copies with the space before them.
        first_end := length(substring(s FROM '^.*?' || tag_re));
        RETURN left(s, first_end) || regexp_replace(substr(s, first_end + 1), '\s*' || tag_re, '', 'g');
    END IF;
    parts := regexp_match(s, '^((?:(?:re|fwd?|aw|wg|sv|antw|tr)\s*(?:\[\d+\])?\s*:\s*)*)(.*)$', 'i');
    prefix := btrim(parts[1]);
    rest := btrim(parts[2]);
    RETURN btrim(concat_ws(' ', nullif(prefix, ''), '[#' || p_number || ']', nullif(rest, '')));
END $$;

-- The inbound email a reply on case `p_case` answers by default: the latest one received (never an
-- outgoing row: those have queued_at).
CREATE FUNCTION mailroom_case_latest_inbound(p_case bigint) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT id FROM email
    WHERE tenant_id = mailroom_current_tenant() AND parent_type = 'case' AND parent_id = p_case AND queued_at IS NULL
    ORDER BY coalesce(date_received, imported_at) DESC, id DESC
    LIMIT 1
$$;

-- As in 0005_sending.sql, plus, for a reply on a case (p_parent_type 'case'):
--   * the case must exist in the tenant (22023 otherwise);
--   * p_account NULL means the case's source account (22023 when it has none);
--   * the subject is tagged with the case number exactly once (`mailroom_case_subject`);
--   * p_reply_to_email NULL means the case's latest inbound email (`mailroom_case_latest_inbound`),
--     whose Message-ID becomes In-Reply-To and whose References + Message-ID the References chain;
--   * the email carries the case's CRM account.
-- For any reply (p_reply_to_email given or found): with no recipient at all, the reply goes to the
-- answered email's Reply-To addresses, else its From address.
-- The Message-ID stays random (or the caller's) here; the worker replaces it with one carrying the
-- parent's signed record token before the first submission (see the top of this file).
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
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
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
    IF NOT mailroom_may_send(p_user, v_account) THEN
        RAISE EXCEPTION 'user % may not send from mail account % (%)', p_user, v_account,
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
                       "references", status, parent_type, parent_id, crm_account_id, created_by_user_id, send_account_id,
                       reply_to_email_id, queued_at, size)
    VALUES (t, mid, v_subject, acct.address, sender_name, p_text, p_html, parent_email.message_id,
            CASE WHEN parent_email.id IS NULL THEN '{}'
                 ELSE parent_email."references" || parent_email.message_id END,
            'Sending', p_parent_type, p_parent_id, sc.account_id, p_user, v_account, v_reply_to, now(), 0)
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
    INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder) VALUES (t, new_id, p_user, true, 'sent');
    PERFORM mailroom_enqueue_send(new_id);
    RETURN new_id;
END $$;
