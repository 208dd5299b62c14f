-- Delivery reports (docs/bounces.md): what a bounce said about each recipient of an email we sent, and
-- each tenant's view of its recipients' addresses built from them.
--
-- A report is an ordinary imported email (stored, deduplicated and linked like any other); what the
-- recognizer read from it is kept per recipient in `email_bounce`, tied to the outbound email whose
-- Message-ID it returned, or untied when it named none of ours. The outbound email's status becomes
-- 'Bounced' when a recipient failed. `address_health` is written only from tied reports: a bounce that
-- names no email we sent could be forged by anyone, and must not stop the tenant's mail to an address.

ALTER TABLE email DROP CONSTRAINT email_status_check;
ALTER TABLE email ADD CONSTRAINT email_status_check
    CHECK (status IN ('Draft', 'Sending', 'Sent', 'Archived', 'Failed', 'Bounced'));

ALTER TABLE tenant
    -- An address is marked undeliverable after this many soft bounces (distinct emails) within
    -- `soft_bounce_window`; a hard bounce marks it at once.
    ADD COLUMN soft_bounce_limit  integer  NOT NULL DEFAULT 3 CHECK (soft_bounce_limit BETWEEN 1 AND 100),
    ADD COLUMN soft_bounce_window interval NOT NULL DEFAULT '7 days'
        CHECK (soft_bounce_window BETWEEN interval '1 hour' AND interval '366 days');

-- One row per recipient a delivery report speaks about. Idempotent on re-import: one row per (report,
-- recipient), so recording the same report twice writes nothing.
CREATE TABLE email_bounce (
    tenant_id       bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    -- The imported report.
    report_email_id bigint NOT NULL,
    -- The outbound email the report answers; NULL when it named none of ours (an untied report).
    email_id        bigint,
    -- Lowercased.
    recipient       text NOT NULL CHECK (recipient = lower(recipient)),
    action          text NOT NULL CHECK (action IN ('failed', 'delayed', 'delivered', 'relayed', 'expanded')),
    -- Only for failed and delayed recipients.
    severity        text CHECK (severity IN ('hard', 'soft')),
    -- The enhanced status code (RFC 3463), e.g. 5.1.1, when the report gave one.
    status_code     text,
    -- The remote server's words (RFC 3464 Diagnostic-Code or the bounce's text), never credentials.
    diagnostic      text,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, report_email_id, recipient),
    FOREIGN KEY (tenant_id, report_email_id) REFERENCES email ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE SET NULL (email_id),
    CHECK ((severity IS NULL) = (action NOT IN ('failed', 'delayed')))
);
CREATE INDEX email_bounce_email ON email_bounce (tenant_id, email_id) WHERE email_id IS NOT NULL;
-- Counting an address's soft bounces within the tenant's window.
CREATE INDEX email_bounce_recipient ON email_bounce (tenant_id, recipient, at) WHERE email_id IS NOT NULL;
SELECT mailroom_enable_tenant_rls('email_bounce');

-- Per tenant and address: whether mail to it is refused (`mailroom_queue_email(s)`), since when and why.
-- A row exists once an address bounced; clearing keeps the row (and `cleared_at`, from which soft
-- bounces count again).
CREATE TABLE address_health (
    tenant_id        bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    -- Lowercased, as recipients are stored.
    address          text NOT NULL CHECK (address = lower(address)),
    -- Set: mail to the address is refused unless the caller sends anyway.
    undeliverable_at timestamptz,
    -- Why, in words for the refusal: the class, status code and the server's diagnostic.
    reason           text,
    -- The outbound email whose bounce marked it, and the report that said so.
    email_id         bigint,
    report_email_id  bigint,
    -- Soft bounces (distinct emails) counted within the window when the last one came.
    soft_bounces     integer NOT NULL DEFAULT 0 CHECK (soft_bounces >= 0),
    last_bounce_at   timestamptz,
    -- The last clearing: the address wrote to us (`inbound email N`) or an administrator cleared it.
    cleared_at       timestamptz,
    cleared_by       text,
    PRIMARY KEY (tenant_id, address),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE SET NULL (email_id),
    FOREIGN KEY (tenant_id, report_email_id) REFERENCES email ON DELETE SET NULL (report_email_id),
    CHECK ((undeliverable_at IS NULL) = (reason IS NULL))
);
CREATE INDEX address_health_email ON address_health (tenant_id, email_id) WHERE email_id IS NOT NULL;
CREATE INDEX address_health_report ON address_health (tenant_id, report_email_id) WHERE report_email_id IS NOT NULL;
SELECT mailroom_enable_tenant_rls('address_health');

-- A report tied to an email of a record is written into the record's history as its own kind, so the
-- history says what bounced rather than showing the report as mail received.
ALTER TABLE stream_entry DROP CONSTRAINT stream_entry_kind_check;
ALTER TABLE stream_entry ADD CONSTRAINT stream_entry_kind_check
    CHECK (kind IN ('email_received', 'email_sent', 'case_created', 'assigned', 'reopened', 'email_bounced'));
