-- How many SMTP connections one worker replica may hold open to an account's server at once
-- (docs/architecture.md, sending). The worker's slots send through up to this many connections
-- per account, capped by the worker's own `--smtp-connections-per-account`. Providers limit
-- concurrent SMTP sessions per mailbox: Microsoft 365 allows 3 (more are refused with
-- 432 4.3.2), Gmail more. The default of 3 is the strictest common provider's limit, so an account
-- works out of the box on one replica; several replicas multiply it, which is why an account on
-- such a provider should be set lower when more replicas send. 20 bounds a setting that is a typo.
ALTER TABLE mail_account ADD COLUMN smtp_max_connections integer NOT NULL DEFAULT 3
    CONSTRAINT mail_account_smtp_max_connections_check CHECK (smtp_max_connections BETWEEN 1 AND 20);
