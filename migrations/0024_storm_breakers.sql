-- Storm breakers (docs/crm.md): per sender and tenant, at most N new cases and M reopenings within a
-- window; past that, mail from the sender is still imported and linked, but opens no case, reopens
-- nothing and gets no auto-reply. The defaults are Odoo's (20 records per sender in 120 minutes): a
-- person who writes more than that in two hours is rare, a misconfigured system or a mail loop is not.

-- The limits of the account that receives the mail (`case.sender_limit` in the manifest). The count
-- itself is the tenant's: a sender that writes to two of the tenant's group mailboxes fills one count.
ALTER TABLE mail_account
    ADD COLUMN case_sender_limit_cases   integer NOT NULL DEFAULT 20
        CHECK (case_sender_limit_cases BETWEEN 1 AND 10000),
    ADD COLUMN case_sender_limit_reopens integer NOT NULL DEFAULT 20
        CHECK (case_sender_limit_reopens BETWEEN 1 AND 10000),
    ADD COLUMN case_sender_limit_window  interval NOT NULL DEFAULT '2 hours'
        CHECK (case_sender_limit_window BETWEEN interval '1 minute' AND interval '30 days');

-- One row per (tenant, sender, slot): when the sender's mail took a slot within the longest window of
-- the tenant's accounts, and, while the sender is past the limit, the trip: where it happened (the
-- account whose limit refused), since when, and how many mails were held back. A slot taken again
-- (the window passed) ends the trip. Written only by `mailroom_case_sender_take` (functions/61_storms.sql).
CREATE TABLE case_sender_limit (
    tenant_id          bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    sender             text NOT NULL CHECK (sender = lower(sender) AND sender <> ''),
    -- `create`: a new case; `reopen`: a closed case reopened (MailDomain.CaseRouting.BreakerSlot).
    slot               text NOT NULL CHECK (slot IN ('create', 'reopen')),
    taken_at           timestamptz[] NOT NULL DEFAULT '{}',
    tripped_account_id bigint,
    tripped_at         timestamptz,
    held_back          integer NOT NULL DEFAULT 0 CHECK (held_back >= 0),
    last_held_at       timestamptz,
    PRIMARY KEY (tenant_id, sender, slot),
    FOREIGN KEY (tenant_id, tripped_account_id) REFERENCES mail_account ON DELETE SET NULL (tripped_account_id),
    CHECK ((tripped_at IS NULL) = (held_back = 0))
);
SELECT mailroom_enable_tenant_rls('case_sender_limit');
-- `mailroom status` and the worker's gauges list the trips; only rows of tripped senders are indexed.
CREATE INDEX case_sender_limit_tripped ON case_sender_limit (tenant_id, tripped_account_id) WHERE tripped_at IS NOT NULL;
