-- Deleting emails (a tenant leaving, an erasure request) ran in quadratic time: each deleted email made
-- PostgreSQL look for rows referring to it through three foreign keys that had no index behind them, so
-- every deletion scanned those tables whole (measured: 5,000 emails 2.7 s, 10,000 emails 12 s; a tenant
-- of 60,000 emails did not finish in 14 minutes). With these, 10,000 emails delete in under a second.
-- Partial: only rows that refer to an email are indexed (`reply_to_email_id` is set on replies only).
CREATE INDEX email_reply_to ON email (tenant_id, reply_to_email_id) WHERE reply_to_email_id IS NOT NULL;
CREATE INDEX notification_email ON notification (tenant_id, email_id) WHERE email_id IS NOT NULL;
CREATE INDEX stream_entry_email ON stream_entry (tenant_id, email_id) WHERE email_id IS NOT NULL;
