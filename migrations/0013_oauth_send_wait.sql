-- How long mail queued on an OAuth account that needs a new login waits for one (docs/oauth.md,
-- "Queued mail while a login is needed"). Meanwhile the email stays `Sending` with the reason in its
-- `send_error`, and its send job is postponed without spending attempts; past this time it fails
-- with the provider's reason. Counted per email from the later of its queueing and the grant's
-- entry into `reauth_required`, so mail queued during a long outage still gets the whole time.
-- A tenant setting (manifest `tenant.settings.oauth_send_wait`), read at every attempt: a change
-- applies without a restart. Bounds: a minute is the shortest useful wait (a send job's retry
-- cadence), 30 days the longest anyone should leave mail unsent without noticing.
ALTER TABLE tenant ADD COLUMN oauth_send_wait interval NOT NULL DEFAULT interval '24 hours'
    CONSTRAINT tenant_oauth_send_wait_check
    CHECK (oauth_send_wait >= interval '1 minute' AND oauth_send_wait <= interval '30 days');
