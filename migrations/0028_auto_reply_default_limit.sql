-- The default auto-reply limit per sender becomes 2 per 2 hours (was 5): with it, a loop with a
-- correspondent that answers every auto-reply on a new thread ends at 3 messages from that sender
-- (its first mail and two answers) without any other setting (docs/crm.md, "Storm breaker").
-- Accounts keep what their manifest set; `mailroom apply` writes the new default where none is set.
ALTER TABLE mail_account ALTER COLUMN auto_reply_limit_count SET DEFAULT 2;
