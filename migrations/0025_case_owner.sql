-- One owner across group mailboxes (docs/crm.md, Email-to-Case): when a message reaches several group
-- accounts of a tenant, the case is created in one of them, the same whichever mailbox is polled
-- first. The importer chooses among the case-creating accounts the message addresses; these columns
-- are what it chooses by.
--
-- `aliases`: addresses that deliver to this mailbox without being a mailbox of their own (a Postfix
-- alias, a forwarding address). An `X-Original-To` or `Delivered-To` naming one addresses the account,
-- as To or Cc naming one does. Stored on the account, not in a table of their own: a handful per
-- account, always read together with the account; `mailroom apply` keeps them unique within the
-- tenant, across group account and user addresses.
-- `case_priority`: higher wins among the addressed case-creating accounts; on a tie, the account
-- named first (To, then Cc, then the envelope headers).
ALTER TABLE mail_account
    ADD COLUMN aliases text[] NOT NULL DEFAULT '{}' CHECK (aliases = lower(aliases::text)::text[]),
    ADD COLUMN case_priority integer NOT NULL DEFAULT 0 CHECK (case_priority BETWEEN -1000 AND 1000);
