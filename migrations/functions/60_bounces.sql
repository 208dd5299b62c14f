-- Delivery reports and address health (docs/bounces.md; tables in migrations/0023_bounces.sql).
--
-- The worker recognizes a report among newly imported mail (MailDomain `DeliveryReport`) and records it
-- with `mailroom_record_delivery_reports`, in the import transaction that stored it. The queue
-- (`mailroom_queue_emails`, functions/21_queue_email.sql) refuses recipients marked here; the import
-- clears an address that writes to us; an administrator clears one with `mailroom_address_clear`.

-- Records the delivery reports of an import batch, set-based (one call and a few statements per batch:
-- a statement per report cost 3 ms on a loaded machine, mostly statement and trigger overheads), and
-- returns, per report in the order given, the outbound email it is tied to and that email's parent
-- record (NULLs when untied).
--   * `p_reports`: a JSON array of {"report": the report's email id (an email of the tenant, just
--     imported), "message_ids": [...], "recipients": [...]}.
--   * Tying: the first of "message_ids" (the recognizer's order, most trusted first; without angle
--     brackets) naming an email the tenant sent (a row with an account to send through). None: the
--     report is untied; its recipients are still stored, with no email.
--   * "recipients": {"address", "action" (failed | delayed | delivered | relayed | expanded),
--     "severity" (hard | soft; only for failed and delayed), "status" (e.g. 5.1.1), "diagnostic"}.
--     Addresses are lowercased; a recipient named twice in a report counts once (its first entry); an
--     empty address is skipped. A failed or delayed recipient without a severity is hard when failed,
--     soft when delayed; the diagnostic is cut at 1000 characters.
--   * Idempotent: one `email_bounce` row per (report, recipient); recording a report again writes
--     nothing and changes nothing.
--   * For each tied report with a newly recorded failed recipient: the email's status becomes Bounced
--     (from any status but Draft); each failed recipient that was a recipient (To, Cc, Bcc) of that
--     email updates its `address_health`: hard marks it undeliverable at once; soft counts the
--     distinct emails that soft-bounced to it within the tenant's `soft_bounce_window` since it was
--     last cleared (this batch's included), and marks it once that reaches `soft_bounce_limit`. An
--     address already marked keeps its first mark (when, why, from which email); newly marked, it
--     names the batch's first hard failure, else its last soft one.
--   * A tied report is linked to the email's parent record (when the report has none yet), with an
--     `email_bounced` entry in the record's history when it recorded failures. Nothing else: no case is
--     created, reopened or touched, no follower notified, nothing queued.
-- Delayed and delivered recipients are stored but change no status and no address.
-- Service only (functions/10_access.sql): a CRM that could record reports could stop any address.
CREATE OR REPLACE FUNCTION mailroom_record_delivery_reports(p_reports jsonb)
    RETURNS TABLE (report_email_id bigint, email_id bigint, parent_type text, parent_id bigint)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    t bigint := mailroom_current_tenant();
    reports bigint[];
    emails bigint[];
    lim integer;
    win interval;
    failed email_bounce[];
    failed_emails bigint[];
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF jsonb_typeof(p_reports) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'the reports must be a JSON array' USING ERRCODE = '22023';
    END IF;
    -- Every statement below reaches `email` and `email_recipient` through `= ANY (array)` on their keys:
    -- with joins against unnest() (estimated at 100 rows) the planner chose hash joins over whole-table
    -- scans while the tables' statistics were stale, 15 times slower for a whole import.
    WITH ids AS (
        SELECT x.o, (x.r->>'report')::bigint AS report, m.message_id, m.p
        FROM jsonb_array_elements(p_reports) WITH ORDINALITY AS x(r, o),
             jsonb_array_elements_text(coalesce(x.r->'message_ids', '[]')) WITH ORDINALITY AS m(message_id, p)
    ), sent AS (
        SELECT e.id, e.message_id FROM email e
        WHERE e.tenant_id = t AND e.message_id = ANY (ARRAY(SELECT i.message_id FROM ids i)) AND e.send_account_id IS NOT NULL
    ), tied AS (
        SELECT DISTINCT ON (i.o) i.o, s.id
        FROM ids i JOIN sent s ON s.message_id = i.message_id AND s.id <> i.report
        ORDER BY i.o, i.p
    )
    SELECT coalesce(array_agg((x.r->>'report')::bigint ORDER BY x.o), '{}'), coalesce(array_agg(d.id ORDER BY x.o), '{}')
    INTO reports, emails
    FROM jsonb_array_elements(p_reports) WITH ORDINALITY AS x(r, o) LEFT JOIN tied d ON d.o = x.o;

    WITH given AS (
        SELECT DISTINCT ON (k.report, y.recipient) k.report, k.email, y.*
        FROM jsonb_array_elements(p_reports) WITH ORDINALITY AS x(r, o)
        JOIN unnest(reports, emails) WITH ORDINALITY AS k(report, email, o) ON k.o = x.o
        CROSS JOIN LATERAL (
            SELECT lower(btrim(v->>'address')) AS recipient, v->>'action' AS action, v->>'severity' AS severity,
                   nullif(v->>'status', '') AS status_code, left(nullif(v->>'diagnostic', ''), 1000) AS diagnostic, q
            FROM jsonb_array_elements(coalesce(x.r->'recipients', '[]')) WITH ORDINALITY AS z(v, q)) y
        WHERE y.recipient <> ''
        ORDER BY k.report, y.recipient, y.q
    ), inserted AS (
        INSERT INTO email_bounce AS b (tenant_id, report_email_id, email_id, recipient, action, severity, status_code, diagnostic)
        SELECT t, g.report, g.email, g.recipient, g.action,
               CASE WHEN g.action IN ('failed', 'delayed')
                    THEN coalesce(g.severity, CASE g.action WHEN 'failed' THEN 'hard' ELSE 'soft' END) END,
               g.status_code, g.diagnostic
        FROM given g
        ON CONFLICT (tenant_id, report_email_id, recipient) DO NOTHING
        RETURNING b.*
    )
    SELECT coalesce(array_agg(i ORDER BY i.id) FILTER (WHERE i.action = 'failed' AND i.email_id IS NOT NULL), '{}')
    INTO failed FROM inserted i;

    IF cardinality(failed) > 0 THEN
        failed_emails := ARRAY(SELECT DISTINCT f.email_id FROM unnest(failed) AS f);
        UPDATE email e SET status = 'Bounced'
        WHERE e.tenant_id = t AND e.id = ANY (failed_emails) AND e.status NOT IN ('Bounced', 'Draft');

        SELECT x.soft_bounce_limit, x.soft_bounce_window INTO lim, win FROM tenant x WHERE x.id = t;
        -- One row per address (ON CONFLICT may touch a row once per statement); the soft count sees the
        -- rows inserted above (an earlier statement).
        INSERT INTO address_health AS h (tenant_id, address, undeliverable_at, reason, email_id, report_email_id,
                                         soft_bounces, last_bounce_at)
        SELECT t, a.recipient,
               CASE WHEN a.hard OR a.soft >= lim THEN now() END,
               CASE WHEN a.hard THEN 'hard bounce' || coalesce(' ' || a.hard_status, '') || coalesce(': ' || a.hard_diagnostic, '')
                    WHEN a.soft >= lim THEN format('%s soft bounces within %s, the last', a.soft, win)
                                            || coalesce(' ' || a.last_status, '') || coalesce(': ' || a.last_diagnostic, '') END,
               CASE WHEN a.hard THEN a.hard_email ELSE a.last_email END,
               CASE WHEN a.hard THEN a.hard_report ELSE a.last_report END,
               a.soft, now()
        FROM (SELECT f.recipient, bool_or(f.severity = 'hard') AS hard,
                     (array_agg(f.status_code ORDER BY f.id) FILTER (WHERE f.severity = 'hard'))[1] AS hard_status,
                     (array_agg(f.diagnostic ORDER BY f.id) FILTER (WHERE f.severity = 'hard'))[1] AS hard_diagnostic,
                     (array_agg(f.email_id ORDER BY f.id) FILTER (WHERE f.severity = 'hard'))[1] AS hard_email,
                     (array_agg(f.report_email_id ORDER BY f.id) FILTER (WHERE f.severity = 'hard'))[1] AS hard_report,
                     (array_agg(f.status_code ORDER BY f.id DESC))[1] AS last_status,
                     (array_agg(f.diagnostic ORDER BY f.id DESC))[1] AS last_diagnostic,
                     (array_agg(f.email_id ORDER BY f.id DESC))[1] AS last_email,
                     (array_agg(f.report_email_id ORDER BY f.id DESC))[1] AS last_report,
                     (SELECT count(DISTINCT s.email_id)
                      FROM email_bounce s
                      WHERE s.tenant_id = t AND s.recipient = f.recipient AND s.email_id IS NOT NULL
                        AND s.action = 'failed' AND s.severity = 'soft'
                        AND s.at > greatest(now() - win, coalesce((SELECT c.cleared_at FROM address_health c
                                                                   WHERE c.tenant_id = t AND c.address = f.recipient),
                                                                  '-infinity'))) AS soft
              FROM unnest(failed) AS f
              WHERE (f.email_id, f.recipient) IN (SELECT r.email_id, r.address FROM email_recipient r
                                                  WHERE r.tenant_id = t AND r.email_id = ANY (failed_emails)
                                                    AND r.kind IN ('to', 'cc', 'bcc'))
              GROUP BY f.recipient) a
        ON CONFLICT (tenant_id, address) DO UPDATE SET
            undeliverable_at = coalesce(h.undeliverable_at, excluded.undeliverable_at),
            reason = CASE WHEN h.undeliverable_at IS NULL THEN excluded.reason ELSE h.reason END,
            email_id = CASE WHEN h.undeliverable_at IS NULL THEN excluded.email_id ELSE h.email_id END,
            report_email_id = CASE WHEN h.undeliverable_at IS NULL THEN excluded.report_email_id ELSE h.report_email_id END,
            soft_bounces = excluded.soft_bounces,
            last_bounce_at = excluded.last_bounce_at;
    END IF;

    -- Tied reports join their email's record; those that recorded failures say so in its history.
    WITH records AS (
        SELECT k.report, o.id AS email, o.parent_type, o.parent_id, o.crm_account_id
        FROM unnest(reports, emails) AS k(report, email)
        JOIN (SELECT e.id, e.parent_type, e.parent_id, e.crm_account_id FROM email e
              WHERE e.tenant_id = t AND e.id = ANY (emails) AND e.parent_id IS NOT NULL) o ON o.id = k.email
    ), linked AS (
        UPDATE email r SET parent_type = c.parent_type, parent_id = c.parent_id, crm_account_id = c.crm_account_id
        FROM records c
        WHERE r.tenant_id = t AND r.id = ANY (ARRAY(SELECT c2.report FROM records c2)) AND r.id = c.report AND r.parent_id IS NULL
        RETURNING r.id AS report, c.email, c.parent_type AS record_type, c.parent_id AS record_id
    )
    INSERT INTO stream_entry (tenant_id, record_type, record_id, kind, email_id, data)
    SELECT t, l.record_type, l.record_id, 'email_bounced', l.report, jsonb_build_object(
               'email_id', l.email,
               'recipients', (SELECT jsonb_agg(jsonb_build_object('address', f.recipient, 'severity', f.severity,
                                                                  'status_code', f.status_code) ORDER BY f.recipient)
                              FROM unnest(failed) AS f WHERE f.report_email_id = l.report))
    FROM linked l
    WHERE EXISTS (SELECT 1 FROM unnest(failed) AS f WHERE f.report_email_id = l.report)
    ORDER BY l.report;

    RETURN QUERY
        SELECT k.report, k.email, o.parent_type, o.parent_id
        FROM unnest(reports, emails) WITH ORDINALITY AS k(report, email, n)
        LEFT JOIN (SELECT e.id, e.parent_type, e.parent_id FROM email e WHERE e.tenant_id = t AND e.id = ANY (emails)) o
            ON o.id = k.email
        ORDER BY k.n;
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
