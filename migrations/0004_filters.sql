-- Email filters at three scopes, per-user notification opt-out, and the personal account cap.

------------------------------------------------------------------------------------------------
-- Filters
--
-- One table for every scope, so a filter's scope is data and the importer loads the filters that
-- concern an account with one query per poll (a change applies to the next poll, no restart):
--   global  (account_id and user_id NULL): every account of the tenant; actions skip / folder;
--   account (account_id set): one group or personal account;       actions skip / folder;
--   user    (user_id set): that user's copy of any mail reaching them; actions skip (into the
--           user's trash), folder (the user's folder), mark_read, no_notify.
-- Criteria are columns, not jsonb: every one is optional, all present ones must match, and a filter
-- without any is refused (it would match everything; a CHECK names the rule in its error).
-- Matching itself (wildcards, case folding, HTML text) is pure code: MailDomain.FilterMatcher.
------------------------------------------------------------------------------------------------

CREATE TABLE email_filter (
    tenant_id     bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL,
    scope         text NOT NULL CHECK (scope IN ('global', 'account', 'user')),
    account_id    bigint,
    user_id       bigint,
    -- Wildcard patterns (`*` = any run of characters), case-insensitive.
    from_pattern    text,
    to_pattern      text,   -- matches any To or Cc address
    subject_pattern text,
    header_name     text,
    header_pattern  text,
    -- Body (plain text, or text extracted from HTML) contains any / all of these, case-insensitive.
    body_any      text[] NOT NULL DEFAULT '{}',
    body_all      text[] NOT NULL DEFAULT '{}',
    action        text NOT NULL CHECK (action IN ('skip', 'folder', 'mark_read', 'no_notify')),
    -- The group folder (global/account scope) or the user's folder (user scope) for action 'folder'.
    folder        text,
    position      integer NOT NULL DEFAULT 0,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE,
    CONSTRAINT email_filter_scope_target CHECK (
        (scope = 'global' AND account_id IS NULL AND user_id IS NULL) OR
        (scope = 'account' AND account_id IS NOT NULL AND user_id IS NULL) OR
        (scope = 'user' AND user_id IS NOT NULL AND account_id IS NULL)),
    CONSTRAINT email_filter_needs_a_criterion CHECK (
        from_pattern IS NOT NULL OR to_pattern IS NOT NULL OR subject_pattern IS NOT NULL
        OR header_name IS NOT NULL OR cardinality(body_any) > 0 OR cardinality(body_all) > 0),
    CONSTRAINT email_filter_header_pair CHECK ((header_name IS NULL) = (header_pattern IS NULL)),
    CONSTRAINT email_filter_folder_action CHECK ((action = 'folder') = (folder IS NOT NULL)),
    -- mark_read and no_notify are per-user states: only user filters have them.
    CONSTRAINT email_filter_user_actions CHECK (scope = 'user' OR action IN ('skip', 'folder'))
);
CREATE INDEX email_filter_account ON email_filter (tenant_id, account_id) WHERE account_id IS NOT NULL;
SELECT mailroom_enable_tenant_rls('email_filter');

-- A filter with no criterion would swallow every message: say so in words, not only by constraint name.
CREATE FUNCTION mailroom_email_filter_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.from_pattern IS NULL AND NEW.to_pattern IS NULL AND NEW.subject_pattern IS NULL
       AND NEW.header_name IS NULL AND cardinality(NEW.body_any) = 0 AND cardinality(NEW.body_all) = 0 THEN
        RAISE EXCEPTION 'email filter "%" has no criteria: give at least one of from, to, subject, header, body_any, body_all', NEW.name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER email_filter_check BEFORE INSERT OR UPDATE ON email_filter
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_filter_check();

-- Group folders a filter put an email in (the account link keeps the IMAP folder it came from).
ALTER TABLE email_account_link ADD COLUMN group_folder text;

-- A user filter "don't notify" clears this; follower notifications honour it.
ALTER TABLE email_user ADD COLUMN notify boolean NOT NULL DEFAULT true;

------------------------------------------------------------------------------------------------
-- Personal accounts: at most tenant.max_personal_accounts per owner, for every client of the
-- database. The owner's row is locked first so two concurrent inserts cannot both pass the count.
------------------------------------------------------------------------------------------------

CREATE FUNCTION mailroom_personal_account_cap() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cap   integer;
    owned integer;
BEGIN
    IF NEW.kind <> 'personal' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.kind = 'personal' AND OLD.owner_user_id = NEW.owner_user_id THEN
        RETURN NEW;
    END IF;
    PERFORM 1 FROM app_user WHERE tenant_id = NEW.tenant_id AND id = NEW.owner_user_id FOR UPDATE;
    SELECT max_personal_accounts INTO cap FROM tenant WHERE id = NEW.tenant_id;
    SELECT count(*) INTO owned FROM mail_account
    WHERE tenant_id = NEW.tenant_id AND kind = 'personal' AND owner_user_id = NEW.owner_user_id AND id <> NEW.id;
    IF owned >= cap THEN
        RAISE EXCEPTION 'user % already has % personal email account(s); the tenant allows at most %',
            NEW.owner_user_id, owned, cap
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER mail_account_personal_cap BEFORE INSERT OR UPDATE OF kind, owner_user_id ON mail_account
    FOR EACH ROW EXECUTE FUNCTION mailroom_personal_account_cap();

-- A personal account's folders map IMAP folders to the owner's folders (mail_folder.target); no
-- change to mail_folder is needed. Its mail is shared with the owner's default team: the team the
-- owner joined first (lowest team id among memberships, i.e. the first team declared).
