-- Delivery reports and address health (docs/bounces.md; tables in migrations/0023_bounces.sql).
--
-- The worker recognizes a report among newly imported mail (MailDomain `DeliveryReport`) and records it
-- with `mailroom_record_delivery_report`, in the import transaction that stored it. The queue
-- (`mailroom_queue_emails`, functions/21_queue_email.sql) refuses recipients marked here; the import
-- clears an address that writes to us; an administrator clears one with `mailroom_address_clear`.

-- Records the delivery report `p_report` (an email of the tenant, just imported) and returns the
-- outbound email it is tied to with that email's parent record (no row when untied).
--   * Tying: the first of `p_message_ids` (the recognizer's order, most trusted first; without angle
--     brackets) naming an email the tenant sent (a row with an account to send through). None: the
--     report is untied; its recipients are still stored, with no email.
--   * `p_recipients`: a JSON array of {"address", "action" (failed | delayed | delivered | relayed |
--     expanded), "severity" (hard | soft; only for failed and delayed), "status" (e.g. 5.1.1),
--     "diagnostic"}. Addresses are lowercased; a recipient named twice counts once (its first entry);
--     an empty address is skipped. A failed or delayed recipient without a severity is hard when
--     failed, soft when delayed; the diagnostic is cut at 1000 characters.
--   * Idempotent: one `email_bounce` row per (report, recipient); recording a report again writes
--     nothing and changes nothing.
--   * For a tied report with a newly recorded failed recipient: the email's status becomes Bounced
--     (from any status but Draft); each failed recipient that was a recipient (To, Cc, Bcc) of that
--     email updates its `address_health`: hard marks it undeliverable at once; soft counts the
--     distinct emails that soft-bounced to it within the tenant's `soft_bounce_window` since it was
--     last cleared, and marks it once that reaches `soft_bounce_limit`. An address already marked
--     keeps its first mark (when, why, from which email).
--   * A tied report is linked to the email's parent record (when the report has none yet), with an
--     `email_bounced` entry in the record's history. Nothing else: no case is created, reopened or
--     touched, no follower notified, nothing queued.
-- Delayed and delivered recipients are stored but change no status and no address.
-- Service only (functions/10_access.sql): a CRM that could record reports could stop any address.
CREATE OR REPLACE FUNCTION mailroom_record_delivery_report(p_report bigint, p_message_ids text[], p_recipients jsonb)
    RETURNS TABLE (email_id bigint, parent_type text, parent_id bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    outbound email;
    lim integer;
    win interval;
    failed email_bounce[];
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF jsonb_typeof(p_recipients) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'the recipients must be a JSON array' USING ERRCODE = '22023';
    END IF;
    SELECT e.* INTO outbound
    FROM unnest(p_message_ids) WITH ORDINALITY AS m(message_id, o)
    JOIN email e ON e.tenant_id = t AND e.message_id = m.message_id
    WHERE e.send_account_id IS NOT NULL AND e.id <> p_report
    ORDER BY m.o LIMIT 1;

    WITH given AS (
        SELECT DISTINCT ON (x.recipient) x.*
        FROM (SELECT lower(btrim(r->>'address')) AS recipient, r->>'action' AS action, r->>'severity' AS severity,
                     nullif(r->>'status', '') AS status_code, left(nullif(r->>'diagnostic', ''), 1000) AS diagnostic, o
              FROM jsonb_array_elements(p_recipients) WITH ORDINALITY AS y(r, o)) x
        WHERE x.recipient <> ''
        ORDER BY x.recipient, x.o
    ), inserted AS (
        INSERT INTO email_bounce AS b (tenant_id, report_email_id, email_id, recipient, action, severity, status_code, diagnostic)
        SELECT t, p_report, outbound.id, g.recipient, g.action,
               CASE WHEN g.action IN ('failed', 'delayed')
                    THEN coalesce(g.severity, CASE g.action WHEN 'failed' THEN 'hard' ELSE 'soft' END) END,
               g.status_code, g.diagnostic
        FROM given g
        ON CONFLICT (tenant_id, report_email_id, recipient) DO NOTHING
        RETURNING b.*
    )
    SELECT coalesce(array_agg(i ORDER BY i.recipient) FILTER (WHERE i.action = 'failed'), '{}') INTO failed FROM inserted i;

    IF outbound.id IS NULL THEN
        RETURN;
    END IF;
    IF cardinality(failed) > 0 THEN
        UPDATE email e SET status = 'Bounced'
        WHERE e.tenant_id = t AND e.id = outbound.id AND e.status NOT IN ('Bounced', 'Draft');

        SELECT x.soft_bounce_limit, x.soft_bounce_window INTO lim, win FROM tenant x WHERE x.id = t;
        INSERT INTO address_health AS h (tenant_id, address, undeliverable_at, reason, email_id, report_email_id,
                                         soft_bounces, last_bounce_at)
        SELECT t, f.recipient,
               CASE WHEN f.severity = 'hard' OR f.soft >= lim THEN now() END,
               CASE WHEN f.severity = 'hard' THEN 'hard bounce'
                    WHEN f.soft >= lim THEN format('%s soft bounces within %s, the last', f.soft, win) END
                   || coalesce(' ' || f.status_code, '') || coalesce(': ' || f.diagnostic, ''),
               outbound.id, p_report, f.soft, now()
        FROM (SELECT b.recipient, b.severity, b.status_code, b.diagnostic,
                     (SELECT count(DISTINCT s.email_id)
                      FROM email_bounce s
                      WHERE s.tenant_id = t AND s.recipient = b.recipient AND s.email_id IS NOT NULL
                        AND s.action = 'failed' AND s.severity = 'soft'
                        AND s.at > greatest(now() - win, coalesce((SELECT c.cleared_at FROM address_health c
                                                                   WHERE c.tenant_id = t AND c.address = b.recipient),
                                                                  '-infinity'))) AS soft
              FROM unnest(failed) AS b
              WHERE EXISTS (SELECT 1 FROM email_recipient r
                            WHERE r.tenant_id = t AND r.email_id = outbound.id AND r.kind IN ('to', 'cc', 'bcc')
                              AND r.address = b.recipient)) f
        ON CONFLICT (tenant_id, address) DO UPDATE SET
            undeliverable_at = coalesce(h.undeliverable_at, excluded.undeliverable_at),
            reason = CASE WHEN h.undeliverable_at IS NULL THEN excluded.reason ELSE h.reason END,
            email_id = CASE WHEN h.undeliverable_at IS NULL THEN excluded.email_id ELSE h.email_id END,
            report_email_id = CASE WHEN h.undeliverable_at IS NULL THEN excluded.report_email_id ELSE h.report_email_id END,
            soft_bounces = excluded.soft_bounces,
            last_bounce_at = excluded.last_bounce_at;

        IF outbound.parent_id IS NOT NULL THEN
            UPDATE email e SET parent_type = outbound.parent_type, parent_id = outbound.parent_id,
                               crm_account_id = outbound.crm_account_id
            WHERE e.tenant_id = t AND e.id = p_report AND e.parent_id IS NULL;
            IF FOUND THEN
                INSERT INTO stream_entry (tenant_id, record_type, record_id, kind, email_id, data)
                SELECT t, outbound.parent_type, outbound.parent_id, 'email_bounced', p_report, jsonb_build_object(
                    'email_id', outbound.id,
                    'recipients', jsonb_agg(jsonb_build_object('address', b.recipient, 'severity', b.severity,
                                                               'status_code', b.status_code) ORDER BY b.recipient))
                FROM unnest(failed) AS b;
            END IF;
        END IF;
    ELSIF outbound.parent_id IS NOT NULL THEN
        -- A report with no failure (delayed, delivered) still belongs to the email's record.
        UPDATE email e SET parent_type = outbound.parent_type, parent_id = outbound.parent_id,
                           crm_account_id = outbound.crm_account_id
        WHERE e.tenant_id = t AND e.id = p_report AND e.parent_id IS NULL;
    END IF;
    RETURN QUERY SELECT outbound.id, outbound.parent_type, outbound.parent_id;
END $$;

-- Clears the undeliverable mark (and the soft bounce count) of the tenant's addresses that wrote to
-- us: `p_addresses[i]` is the sender of the inbound email `p_emails[i]`, whose id is recorded as
-- `cleared_by`. Returns the number of addresses cleared. Run by the import in the transaction that
-- stores the emails; addresses never bounced cost one index probe each.
CREATE OR REPLACE FUNCTION mailroom_address_wrote(p_addresses text[], p_emails bigint[]) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    n integer;
BEGIN
    UPDATE address_health h SET undeliverable_at = NULL, reason = NULL, soft_bounces = 0, cleared_at = now(),
                                cleared_by = 'inbound email ' || w.email_id
    FROM (SELECT DISTINCT ON (lower(a.address)) lower(a.address) AS address, a.email_id
          FROM unnest(p_addresses, p_emails) AS a(address, email_id)
          WHERE a.address IS NOT NULL ORDER BY lower(a.address), a.email_id) w
    WHERE h.tenant_id = t AND h.address = w.address AND (h.undeliverable_at IS NOT NULL OR h.soft_bounces > 0);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- An administrator clears the undeliverable mark (and the soft bounce count) of one address of the
-- tenant; returns whether it was marked. The `mailroom address clear` command (owner or service) and
-- the CRM acting as an active administrator (mailroom.user_id) may; `address_health_guard` refuses
-- anyone else with 42501.
CREATE OR REPLACE FUNCTION mailroom_address_clear(p_address text) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    acting bigint := mailroom_current_user();
    was timestamptz;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    UPDATE address_health h SET undeliverable_at = NULL, reason = NULL, soft_bounces = 0, cleared_at = now(),
                                cleared_by = 'administrator' || coalesce(' (user ' || acting || ')', '')
    FROM (SELECT x.address, x.undeliverable_at FROM address_health x
          WHERE x.tenant_id = t AND x.address = lower(btrim(p_address)) FOR UPDATE) old
    WHERE h.tenant_id = t AND h.address = old.address
    RETURNING old.undeliverable_at INTO was;
    IF NOT FOUND AND NOT mailroom_caller_trusted()
       AND NOT EXISTS (SELECT 1 FROM app_user u WHERE u.tenant_id = t AND u.id = acting AND u.is_admin AND u.is_active) THEN
        -- Nothing to clear, but the caller must still learn that it may not.
        RAISE EXCEPTION 'may not clear an address: only an administrator (mailroom.user_id) may' USING ERRCODE = '42501';
    END IF;
    RETURN was IS NOT NULL;
END $$;

-- Who may write `address_health`: the service and the owner (recording reports, the import clearing
-- an address that wrote to us, the command line) anything; everyone else (the CRM) only clears a
-- mark, acting as an active administrator of the tenant, and changes nothing else.
CREATE OR REPLACE FUNCTION mailroom_address_health_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF mailroom_caller_trusted() THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    IF TG_OP <> 'UPDATE' OR NEW.undeliverable_at IS NOT NULL OR NEW.reason IS NOT NULL OR NEW.soft_bounces <> 0
       OR (NEW.tenant_id, NEW.address, NEW.email_id, NEW.report_email_id, NEW.last_bounce_at)
          IS DISTINCT FROM (OLD.tenant_id, OLD.address, OLD.email_id, OLD.report_email_id, OLD.last_bounce_at) THEN
        RAISE EXCEPTION 'may not % address health: only the service marks addresses; an administrator may clear one',
            lower(TG_OP) USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM app_user u WHERE u.tenant_id = NEW.tenant_id AND u.id = mailroom_current_user()
                   AND u.is_admin AND u.is_active) THEN
        RAISE EXCEPTION 'may not clear an address: only an administrator (mailroom.user_id) may' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER address_health_guard
    BEFORE INSERT OR UPDATE OR DELETE ON address_health
    FOR EACH ROW EXECUTE FUNCTION mailroom_address_health_guard();
