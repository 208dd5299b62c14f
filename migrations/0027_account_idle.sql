-- Per-account IMAP IDLE (docs/idle.md). When true, the default, and the server advertises IDLE, the
-- workers keep an IDLE connection on the account's INBOX and poll it as soon as the server announces a
-- change; polling at the account's interval stays on as the safety net. False: the account is only
-- polled (a provider that limits connections, or one whose IDLE misbehaves).
ALTER TABLE mail_account ADD COLUMN idle boolean NOT NULL DEFAULT true;
