-- Queueing outgoing mail: `mailroom_queue_emails` is the one writer of an outgoing email and its rows
-- (recipients, attachments, account link, the sender's Sent copy, the send job). The host CRM,
-- `mailroom send`, case replies and the service's auto-replies all queue through it;
-- `mailroom_queue_email` is its form for one email.

-- Queues the emails of the JSON array `p_emails` in one statement; returns their ids in order.
-- Call inside a transaction scoped to the tenant (mailroom.tenant_id) and, from the CRM, to the acting
-- user (mailroom.user_id), who is the sender: "user" may name another user only when the acting user
-- is an admin, and absent means the acting user. All or nothing: every email is validated before
-- anything is written, and an invalid one fails the call, naming its position ("email 3: ...", 1-based,
-- when the array holds more than one) and the parameter, never the value: a line break in any header
-- value, an invalid address, no recipient, attachments together over the account's max_message_size
-- (22023), or a sender without permission (42501). The workers are woken once, at commit.
--
-- Each element is an object:
--   "account"           the mail account to send from (for a case reply: default the case's source account)
--   "user"              the sender (default: the acting user)
--   "to", "cc", "bcc"   arrays of addresses, each a string or {"address": ..., "name": ...}
--   "subject", "text", "html"
--   "attachments"       array of {"filename", "content_type", "data" (base64)}
--   "parent_type", "parent_id"   the CRM record the email belongs to
--   "reply_to_email"    the email this one answers
--   "message_id"        (without brackets) the caller's Message-ID; by default a random one in the
--                       account's domain
--   "send_anyway"       true: send even to recipients marked undeliverable (below)
--   "auto_reply"        true: an auto-reply, the service's own mail (only the service queues one):
--                       no sender, From, its name and Reply-To from the account's auto-reply settings,
--                       the subject as given, no Sent copy for a user; the row trigger admits it only
--                       as the answer to mail the account received while its auto-replies are on.
-- For a reply on a case ("parent_type": "case", not an auto-reply):
--   * the case must exist in the tenant;
--   * no account means the case's source account (an error when it has none);
--   * the subject is tagged with the case number exactly once (`mailroom_case_subject`);
--   * no "reply_to_email" means the case's latest inbound email (`mailroom_case_latest_inbound`);
--   * the email carries the case's CRM account.
-- For any reply ("reply_to_email" given or found): the answered email's Message-ID becomes In-Reply-To
-- and its References + Message-ID the References chain; with no recipient at all, the reply goes to
-- the answered email's Reply-To addresses, else its From address.
-- The worker replaces the Message-ID of a reply on a record with one carrying the record's signed
-- token before the first submission.
-- Undeliverable recipients (docs/bounces.md): a recipient (To, Cc, Bcc, given or taken from the answered
-- email) whose address the tenant's `address_health` marks undeliverable refuses the call (22023), naming
-- the address, when it was marked and why, unless the email says "send_anyway". Auto-replies are
-- refused alike; the service checks before queueing one and simply does not answer such an address.
--
-- Cost: one query for the recipients of all emails; per email one for its attachments, when it has any; the
-- account, the acting user's right to write outgoing mail and `mailroom_may_send` are read once per
-- distinct account, user and (user, account) pair of the call; then one statement inserting the rows
-- of every table for the whole call, with ids taken from the email sequence up front, and one
-- `mailroom_enqueue_sends`.
--
-- Generic plans (plan_cache_mode), for this call and everything it calls: with its arrays as
-- parameters, PostgreSQL would otherwise plan the one INSERT statement, the enqueue's check and the
-- triggers' queries again at every call (a custom plan per parameter value), which was half the CPU
-- of queueing one email.
CREATE OR REPLACE FUNCTION mailroom_queue_emails(p_emails jsonb) RETURNS bigint[]
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    trusted boolean := mailroom_caller_trusted();
    acting bigint := mailroom_current_user();
    n integer;
    pre text := '';
    ids bigint[];
    emails email[] := '{}';
    recipients email_recipient[];
    attachments attachment[] := '{}';
    senders bigint[] := '{}';
    e jsonb;
    r email;
    acct mail_account;
    sc support_case;
    parent_email email;
    v_user bigint;
    v_account bigint;
    v_reply_to bigint;
    v_auto boolean;
    v_subject text;
    list jsonb;
    rcpt email_recipient[];
    bad_email bigint;
    bad_recipient bigint;
    atts attachment[];
    bad integer;
    total bigint;
    refused_users bigint[] := '{}';
    checked_users bigint[] := '{}';
    allowed_pairs text[] := '{}';
    why text;
    reply_address text;
    anyway bigint[] := '{}';
    marked record;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF jsonb_typeof(p_emails) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'the emails must be a JSON array' USING ERRCODE = '22023';
    END IF;
    n := jsonb_array_length(p_emails);
    IF n = 0 THEN
        RETURN '{}';
    END IF;
    ids := ARRAY(SELECT nextval('email_id_seq') FROM generate_series(1, n));
    -- The given recipients of every email in one pass (To, Cc, Bcc in order; each a string or
    -- {"address", "name"}; a key that is not an array is refused below); the first invalid one is
    -- reported when the loop reaches its email. Inline rather than a helper function: a function
    -- with a pinned search_path is never inlined, and calling one per email doubled this query.
    SELECT coalesce(array_agg(ROW(t, ids[x.i], x.kind, x.p - 1, lower(x.address), x.name)::email_recipient)
                        FILTER (WHERE x.valid), '{}'),
           (array_agg(x.i ORDER BY x.i, x.o) FILTER (WHERE NOT x.valid))[1],
           (array_agg(x.o ORDER BY x.i, x.o) FILTER (WHERE NOT x.valid))[1]
    INTO recipients, bad_email, bad_recipient
    FROM (SELECT y.*, row_number() OVER (PARTITION BY y.i ORDER BY y.ord, y.p) AS o,
                 coalesce(mailroom_valid_address(y.address) AND coalesce(y.name, '') !~ '[\r\n]', false) AS valid
          FROM (SELECT m.i, k.kind, k.ord, v.p,
                       CASE jsonb_typeof(v.a) WHEN 'string' THEN v.a #>> '{}' ELSE v.a->>'address' END AS address,
                       CASE jsonb_typeof(v.a) WHEN 'object' THEN v.a->>'name' END AS name
                FROM jsonb_array_elements(p_emails) WITH ORDINALITY AS m(e, i),
                     (VALUES ('to', 1), ('cc', 2), ('bcc', 3)) AS k(kind, ord),
                     LATERAL jsonb_array_elements(CASE jsonb_typeof(m.e->k.kind) WHEN 'array' THEN m.e->k.kind ELSE '[]' END)
                         WITH ORDINALITY AS v(a, p)) y) x;
    FOR i IN 1..n LOOP
        e := p_emails->(i - 1);
        IF n > 1 THEN
            pre := format('email %s: ', i);
        END IF;
        IF jsonb_typeof(e) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION '%each email must be a JSON object', pre USING ERRCODE = '22023';
        END IF;
        v_auto := coalesce((e->>'auto_reply')::boolean, false);
        v_account := (e->>'account')::bigint;
        v_reply_to := (e->>'reply_to_email')::bigint;
        v_subject := e->>'subject';
        IF v_auto THEN
            IF NOT trusted THEN
                RAISE EXCEPTION '%may not create email (new): only the service queues auto-replies', pre USING ERRCODE = '42501';
            END IF;
            IF e ? 'user' THEN
                RAISE EXCEPTION '%an auto-reply has no sender (user)', pre USING ERRCODE = '22023';
            END IF;
            v_user := NULL;
        ELSE
            v_user := coalesce((e->>'user')::bigint, CASE WHEN NOT trusted THEN acting END);
            -- The acting user is the sender unless an admin (functions/20_sending.sql): asked once per user.
            IF NOT (coalesce(v_user, -1) = ANY (checked_users)) THEN
                why := mailroom_outgoing_refusal(v_user);
                IF why IS NOT NULL THEN
                    RAISE EXCEPTION '%may not create email (new): %', pre, why USING ERRCODE = '42501';
                END IF;
                checked_users := checked_users || coalesce(v_user, -1);
            END IF;
        END IF;

        sc := NULL;
        IF e->>'parent_type' = 'case' AND NOT v_auto THEN
            SELECT * INTO sc FROM support_case WHERE tenant_id = t AND id = (e->>'parent_id')::bigint;
            IF NOT FOUND THEN
                RAISE EXCEPTION '%case % does not exist', pre, e->>'parent_id' USING ERRCODE = '22023';
            END IF;
            v_account := coalesce(v_account, sc.source_account_id);
            IF v_account IS NULL THEN
                RAISE EXCEPTION '%case #% has no mail account it came from: name the account to send from', pre, sc.number
                    USING ERRCODE = '22023';
            END IF;
            v_reply_to := coalesce(v_reply_to, mailroom_case_latest_inbound(sc.id));
        END IF;
        IF v_account IS NULL THEN
            RAISE EXCEPTION '%no mail account to send from', pre USING ERRCODE = '22023';
        END IF;
        IF acct.id IS DISTINCT FROM v_account THEN
            SELECT * INTO acct FROM mail_account WHERE tenant_id = t AND id = v_account;
        END IF;
        IF NOT v_auto AND NOT (v_user || ':' || v_account) = ANY (allowed_pairs) THEN
            IF v_user IS NULL OR NOT mailroom_may_send(v_user, v_account) THEN
                RAISE EXCEPTION '%user % may not send from mail account % (%)', pre, coalesce(v_user::text, '(none)'), v_account,
                    coalesce(CASE WHEN acct.id IS NOT NULL THEN format('%s <%s>', acct.name, acct.address) END, 'not visible to this tenant') USING ERRCODE = '42501';
            END IF;
            allowed_pairs := allowed_pairs || (v_user || ':' || v_account);
        END IF;
        IF acct.id IS NULL THEN
            RAISE EXCEPTION '%mail account % is not visible to this tenant', pre, v_account USING ERRCODE = '22023';
        END IF;
        IF acct.smtp_host IS NULL THEN
            RAISE EXCEPTION '%mail account % <%> has no SMTP server', pre, acct.name, acct.address USING ERRCODE = '22023';
        END IF;
        IF coalesce(v_subject, '') ~ '[\r\n]' THEN
            RAISE EXCEPTION '%the subject contains a line break', pre USING ERRCODE = '22023';
        END IF;
        IF sc.id IS NOT NULL THEN
            v_subject := mailroom_case_subject(v_subject, sc.number);
        END IF;

        -- Recipients: To, Cc and Bcc in order (checked above), else the answered email's Reply-To or From.
        IF jsonb_typeof(coalesce(e->'to', '[]')) <> 'array' OR jsonb_typeof(coalesce(e->'cc', '[]')) <> 'array'
           OR jsonb_typeof(coalesce(e->'bcc', '[]')) <> 'array' THEN
            RAISE EXCEPTION '%to, cc and bcc must be JSON arrays', pre USING ERRCODE = '22023';
        END IF;
        list := coalesce(e->'to', '[]') || coalesce(e->'cc', '[]') || coalesce(e->'bcc', '[]');
        parent_email := NULL;
        IF v_reply_to IS NOT NULL THEN
            SELECT * INTO parent_email FROM email WHERE tenant_id = t AND id = v_reply_to;
            IF NOT FOUND THEN
                RAISE EXCEPTION '%the email % to reply to does not exist', pre, v_reply_to USING ERRCODE = '22023';
            END IF;
            IF jsonb_array_length(list) = 0 THEN
                -- A reply without recipients answers whoever the email asked answers to go to.
                SELECT coalesce(jsonb_agg(to_jsonb(x.address::text) ORDER BY x.position), '[]') INTO list
                FROM email_recipient x WHERE x.tenant_id = t AND x.email_id = parent_email.id AND x.kind = 'reply_to';
                IF jsonb_array_length(list) = 0 AND parent_email.from_address IS NOT NULL THEN
                    list := jsonb_build_array(parent_email.from_address::text);
                END IF;
                SELECT min(x.o) FILTER (WHERE NOT coalesce(mailroom_valid_address(x.a), false)),
                       array_agg(ROW(t, ids[i], 'to', x.o - 1, lower(x.a), NULL)::email_recipient)
                           FILTER (WHERE mailroom_valid_address(x.a))
                INTO bad, rcpt
                FROM jsonb_array_elements_text(list) WITH ORDINALITY AS x(a, o);
                IF bad IS NOT NULL THEN
                    bad_email := i;
                    bad_recipient := bad;
                END IF;
                recipients := recipients || rcpt;
            END IF;
        END IF;
        IF jsonb_array_length(list) = 0 THEN
            RAISE EXCEPTION '%the email has no recipient', pre USING ERRCODE = '22023';
        END IF;
        IF bad_email = i THEN
            RAISE EXCEPTION '%invalid recipient address (recipient % of To, Cc and Bcc in order)', pre, bad_recipient
                USING ERRCODE = '22023';
        END IF;

        -- Attachments, decoded once.
        total := 0;
        IF jsonb_typeof(coalesce(e->'attachments', '[]')) <> 'array' THEN
            RAISE EXCEPTION '%attachments must be a JSON array', pre USING ERRCODE = '22023';
        END IF;
        IF jsonb_array_length(coalesce(e->'attachments', '[]')) > 0 THEN
            SELECT min(x.p) FILTER (WHERE coalesce(x.a->>'filename', '') ~ '[\r\n]' OR coalesce(x.a->>'content_type', '') ~ '[\r\n]'),
                   min(x.p) FILTER (WHERE coalesce(x.a->>'content_type', 'application/octet-stream')
                                          !~ '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$')
            INTO bad, total
            FROM jsonb_array_elements(e->'attachments') WITH ORDINALITY AS x(a, p);
            IF bad IS NOT NULL THEN
                RAISE EXCEPTION '%an attachment''s file name or content type contains a line break', pre USING ERRCODE = '22023';
            END IF;
            IF total IS NOT NULL THEN
                RAISE EXCEPTION '%invalid attachment content type (attachment %)', pre, total USING ERRCODE = '22023';
            END IF;
            SELECT array_agg(ROW(t, NULL, ids[i], x.p - 1, x.a->>'filename',
                                 coalesce(x.a->>'content_type', 'application/octet-stream'), NULL, false,
                                 length(x.data), x.data)::attachment ORDER BY x.p),
                   coalesce(sum(length(x.data)), 0)
            INTO atts, total
            FROM (SELECT a, p, decode(coalesce(a->>'data', ''), 'base64') AS data
                  FROM jsonb_array_elements(e->'attachments') WITH ORDINALITY AS y(a, p)) x;
            IF total > acct.max_message_size THEN
                RAISE EXCEPTION '%attachments of % bytes exceed the limit of mail account % <%> (% bytes)',
                    pre, total, acct.name, acct.address, acct.max_message_size USING ERRCODE = '22023';
            END IF;
            attachments := attachments || atts;
        END IF;
        IF e->>'message_id' IS NOT NULL AND (e->>'message_id' ~ '[\s<>]' OR e->>'message_id' !~ '^[^@]+@[^@]+$') THEN
            RAISE EXCEPTION '%invalid Message-ID (message_id)', pre USING ERRCODE = '22023';
        END IF;

        r := NULL;
        r.tenant_id := t;
        r.id := ids[i];
        r.subject := v_subject;
        r.body_text := e->>'text';
        r.body_html := e->>'html';
        r.status := 'Sending';
        r.parent_type := coalesce(e->>'parent_type', CASE WHEN sc.id IS NOT NULL THEN 'case' END);
        r.parent_id := (e->>'parent_id')::bigint;
        r.crm_account_id := sc.account_id;
        r.created_by_user_id := v_user;
        r.send_account_id := v_account;
        r.reply_to_email_id := v_reply_to;
        r.is_auto_reply := v_auto;
        r.in_reply_to := parent_email.message_id;
        r."references" := CASE WHEN parent_email.id IS NULL THEN '{}'
                               ELSE parent_email."references" || parent_email.message_id::text END;
        IF v_auto THEN
            r.from_address := coalesce(acct.auto_reply_from_address, acct.address);
            r.from_name := coalesce(acct.auto_reply_from_name, acct.display_name);
        ELSE
            r.from_address := acct.address;
            IF acct.kind = 'group' THEN
                r.from_name := acct.display_name;
            ELSE
                SELECT coalesce(acct.display_name, u.name) INTO r.from_name
                FROM app_user u WHERE u.tenant_id = t AND u.id = acct.owner_user_id;
            END IF;
        END IF;
        r.message_id := coalesce(e->>'message_id', gen_random_uuid()::text || '@' || split_part(r.from_address, '@', 2));
        emails := emails || r;
        IF coalesce((e->>'send_anyway')::boolean, false) THEN
            anyway := anyway || r.id;
        END IF;
        senders := senders || v_user;
        recipients := recipients || ROW(t, ids[i], 'from', 0, r.from_address, r.from_name)::email_recipient;
        reply_address := CASE WHEN v_auto THEN coalesce(acct.auto_reply_reply_to, acct.reply_to) ELSE acct.reply_to END;
        IF reply_address IS NOT NULL THEN
            recipients := recipients || ROW(t, ids[i], 'reply_to', 0, lower(reply_address), NULL)::email_recipient;
        END IF;
    END LOOP;

    -- Recipients marked undeliverable: one probe of the tenant's marks per recipient, the first one
    -- (in email, then To, Cc, Bcc order) refuses the call.
    SELECT array_position(ids, x.email_id) AS i, h.address, h.undeliverable_at, h.reason INTO marked
    FROM unnest(recipients) AS x
    JOIN address_health h ON h.tenant_id = t AND h.address = x.address AND h.undeliverable_at IS NOT NULL
    WHERE x.kind IN ('to', 'cc', 'bcc') AND NOT x.email_id = ANY (anyway)
    ORDER BY x.email_id, array_position(ARRAY['to', 'cc', 'bcc'], x.kind), x.position
    LIMIT 1;
    IF marked.address IS NOT NULL THEN
        RAISE EXCEPTION '%recipient % is undeliverable: marked % (%); send anyway to override',
            CASE WHEN n > 1 THEN format('email %s: ', marked.i) ELSE '' END, marked.address,
            to_char(marked.undeliverable_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), marked.reason
            USING ERRCODE = '22023';
    END IF;

    -- One statement for every row of every email: per statement costs (the row triggers' setup, the
    -- sender check of email_check_new_senders, executor start) are paid once per call.
    WITH queued AS (
        INSERT INTO email (tenant_id, id, message_id, subject, from_address, from_name, body_text, body_html, in_reply_to,
                           "references", status, parent_type, parent_id, crm_account_id, created_by_user_id, send_account_id,
                           reply_to_email_id, is_auto_reply, queued_at, size)
        OVERRIDING SYSTEM VALUE
        SELECT x.tenant_id, x.id, x.message_id, x.subject, x.from_address, x.from_name, x.body_text, x.body_html, x.in_reply_to,
               x."references", x.status, x.parent_type, x.parent_id, x.crm_account_id, x.created_by_user_id, x.send_account_id,
               x.reply_to_email_id, x.is_auto_reply, now(), 0
        FROM unnest(emails) AS x
        RETURNING id, send_account_id, created_by_user_id
    ), addressed AS (
        INSERT INTO email_recipient SELECT * FROM unnest(recipients)
    ), attached AS (
        INSERT INTO attachment (tenant_id, email_id, position, filename, content_type, is_inline, size, data)
        SELECT x.tenant_id, x.email_id, x.position, x.filename, x.content_type, x.is_inline, x.size, x.data
        FROM unnest(attachments) AS x
    ), linked AS (
        INSERT INTO email_account_link (tenant_id, email_id, account_id)
        SELECT t, q.id, q.send_account_id FROM queued q
    )
    INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder)
    SELECT t, q.id, q.created_by_user_id, true, 'sent' FROM queued q WHERE q.created_by_user_id IS NOT NULL;
    PERFORM mailroom_enqueue_sends(ids);
    RETURN ids;
END $$;

-- Queues one email (`mailroom_queue_emails` with one element; the parameters are its keys); returns
-- its id. Errors name the parameter (p_to, ...) by its key. `p_send_anyway` is "send_anyway".
-- The form before `p_send_anyway` existed is dropped, so that a call without it is not ambiguous.
DROP FUNCTION IF EXISTS mailroom_queue_email(bigint, bigint, text[], text[], text[], text, text, text, jsonb, text, bigint,
                                             bigint, text);
CREATE OR REPLACE FUNCTION mailroom_queue_email(
    p_account bigint, p_user bigint, p_to text[], p_cc text[] DEFAULT '{}', p_bcc text[] DEFAULT '{}',
    p_subject text DEFAULT NULL, p_text text DEFAULT NULL, p_html text DEFAULT NULL,
    p_attachments jsonb DEFAULT '[]', p_parent_type text DEFAULT NULL, p_parent_id bigint DEFAULT NULL,
    p_reply_to_email bigint DEFAULT NULL, p_message_id text DEFAULT NULL, p_send_anyway boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN (mailroom_queue_emails(jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
        'account', p_account, 'user', p_user, 'to', to_jsonb(p_to), 'cc', to_jsonb(p_cc), 'bcc', to_jsonb(p_bcc),
        'subject', p_subject, 'text', p_text, 'html', p_html, 'attachments', p_attachments,
        'parent_type', p_parent_type, 'parent_id', p_parent_id, 'reply_to_email', p_reply_to_email,
        'message_id', p_message_id, 'send_anyway', nullif(p_send_anyway, false))))))[1];
END $$;
