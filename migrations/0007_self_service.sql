-- Self-service: who may write mail accounts, their folders and email filters, for every client of
-- the database.
--
-- The acting user. Like the tenant (`mailroom.tenant_id`, see 0001_foundation.sql), the host CRM
-- names the human behind a transaction in a transaction-local setting:
--     BEGIN;
--     SET LOCAL mailroom.tenant_id = '3';
--     SET LOCAL mailroom.user_id = '12';
--     ... writes ...
--     COMMIT;
-- (or `SELECT set_config('mailroom.user_id', '12', true)`). With a user set, the triggers below allow
--   * an active admin (app_user.is_admin) every write in the tenant;
--   * any other active user: their own personal accounts (owner_user_id = them), the folders and team
--     links of those accounts, their own user filters and the account filters of their own personal
--     accounts. Never a group account, a global filter or a filter of a group account;
--   * an inactive user, or a user id that is not a user of this tenant: nothing.
-- An update is checked against the row before and after, so nobody can take a row they may not
-- write, nor give one away (to another owner, to the group kind, to the global scope).
-- Refusals raise SQLSTATE 42501 naming the user, the verb and the row, like `mailroom_may_send`.
--
-- Without the setting (the operator context: the manifest, `mailroom apply`, `mailroom migrate`, the
-- worker) writes are not restricted by user; tenant isolation still applies. The database cannot
-- tell a CRM request from an operator, so the host CRM must set the user on every transaction it runs
-- on a user's behalf. Reads are not restricted by user: the CRM decides what it shows.
--
-- The personal account cap (0004_filters.sql) keeps applying in both contexts. These triggers are
-- named `*_access` so they fire before the cap and before the filter criteria check (BEFORE
-- triggers fire in name order): a refused user learns they were refused, not that a limit was hit.

CREATE FUNCTION mailroom_current_user() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('mailroom.user_id', true), '')::bigint $$;

-- Why the acting user may not write a row that belongs personally to `p_owner` (NULL: a shared row,
-- such as a group account or a global filter), or NULL when they may. `p_shared_rule` and
-- `p_personal_rule` are the reasons given for a non-admin's shared row and someone else's row.
-- Invoker rights: row-level security hides other tenants' users, so their ids are "no such user".
CREATE FUNCTION mailroom_write_refusal(p_owner bigint, p_shared_rule text, p_personal_rule text) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN mailroom_current_user() IS NULL THEN NULL
        WHEN u.id IS NULL THEN 'no such user in this tenant'
        WHEN NOT u.is_active THEN 'the user is inactive'
        WHEN u.is_admin THEN NULL
        WHEN p_owner IS NULL THEN p_shared_rule
        WHEN p_owner = u.id THEN NULL
        ELSE p_personal_rule
        END
    FROM (SELECT 1) AS one
    LEFT JOIN app_user u ON u.tenant_id = mailroom_current_tenant() AND u.id = mailroom_current_user()
$$;

-- The verb of a refusal message for a trigger operation.
CREATE FUNCTION mailroom_write_verb(p_op text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_op WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'change' ELSE 'delete' END
$$;

-- Raises the refusal (SQLSTATE 42501) when there is one: "user 12 may not change <what>: <why>".
CREATE FUNCTION mailroom_refuse_write(p_refusal text, p_op text, p_what text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF p_refusal IS NOT NULL THEN
        RAISE EXCEPTION 'user % may not % %: %', mailroom_current_user(), mailroom_write_verb(p_op), p_what, p_refusal
            USING ERRCODE = '42501';
    END IF;
END $$;

-- Why the acting user may not write mail account (kind, owner), or NULL.
CREATE FUNCTION mailroom_account_write_refusal(p_kind text, p_owner bigint) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT mailroom_write_refusal(CASE WHEN p_kind = 'personal' THEN p_owner END,
        'only admins manage group accounts', 'a personal account is managed by its owner or an admin')
$$;

------------------------------------------------------------------------------------------------
-- mail_account
------------------------------------------------------------------------------------------------

CREATE FUNCTION mailroom_mail_account_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF mailroom_current_user() IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM mailroom_refuse_write(mailroom_account_write_refusal(OLD.kind, OLD.owner_user_id), TG_OP,
            format('mail account "%s" <%s>', OLD.name, OLD.address));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    PERFORM mailroom_refuse_write(mailroom_account_write_refusal(NEW.kind, NEW.owner_user_id), TG_OP,
        format('mail account "%s" <%s>', NEW.name, NEW.address));
    RETURN NEW;
END $$;
CREATE TRIGGER mail_account_access BEFORE INSERT OR UPDATE OR DELETE ON mail_account
    FOR EACH ROW EXECUTE FUNCTION mailroom_mail_account_access();

------------------------------------------------------------------------------------------------
-- Rows that belong to an account: mail_folder (monitored folders and the folder map) and
-- mail_account_team (which teams a group account serves, and so who may send from it): writable by
-- whoever may write the account.
------------------------------------------------------------------------------------------------

-- Why the acting user may not write a row of account `p_account`, or NULL. `p_deleting`: a delete
-- whose account is no longer visible is the cascade of that account's own delete, which the
-- account's trigger has already checked (a foreign key keeps any other such row from existing).
CREATE FUNCTION mailroom_account_row_refusal(p_account bigint, p_deleting boolean, OUT refusal text, OUT account_label text)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    acct record;
BEGIN
    SELECT kind, owner_user_id, name, address INTO acct
    FROM mail_account WHERE tenant_id = mailroom_current_tenant() AND id = p_account;
    IF NOT FOUND THEN
        account_label := format('%s (not visible to this tenant)', p_account);
        refusal := CASE WHEN p_deleting THEN NULL ELSE 'the mail account is not visible to this tenant' END;
        RETURN;
    END IF;
    account_label := format('"%s" <%s>', acct.name, acct.address);
    refusal := mailroom_account_write_refusal(acct.kind, acct.owner_user_id);
END $$;

CREATE FUNCTION mailroom_account_row_access() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- What the refusal calls the row: `folder "INBOX"` or `the team link`. Read through jsonb: one
    -- function serves two tables, and mail_account_team has no name column.
    old_label text;
    new_label text;
    checked record;
BEGIN
    IF mailroom_current_user() IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_label := CASE TG_TABLE_NAME WHEN 'mail_folder' THEN format('folder "%s"', to_jsonb(OLD)->>'name') ELSE 'the team link' END;
        SELECT * INTO checked FROM mailroom_account_row_refusal(OLD.account_id, TG_OP = 'DELETE');
        PERFORM mailroom_refuse_write(checked.refusal, TG_OP, old_label || ' of mail account ' || checked.account_label);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    new_label := CASE TG_TABLE_NAME WHEN 'mail_folder' THEN format('folder "%s"', to_jsonb(NEW)->>'name') ELSE 'the team link' END;
    SELECT * INTO checked FROM mailroom_account_row_refusal(NEW.account_id, false);
    PERFORM mailroom_refuse_write(checked.refusal, TG_OP, new_label || ' of mail account ' || checked.account_label);
    RETURN NEW;
END $$;
CREATE TRIGGER mail_folder_access BEFORE INSERT OR UPDATE OR DELETE ON mail_folder
    FOR EACH ROW EXECUTE FUNCTION mailroom_account_row_access();
CREATE TRIGGER mail_account_team_access BEFORE INSERT OR UPDATE OR DELETE ON mail_account_team
    FOR EACH ROW EXECUTE FUNCTION mailroom_account_row_access();

------------------------------------------------------------------------------------------------
-- email_filter: global filters by admins; account filters by whoever may write the account; user
-- filters by that user (or an admin).
------------------------------------------------------------------------------------------------

-- Why the acting user may not write filter `f`, or NULL.
CREATE FUNCTION mailroom_filter_write_refusal(f email_filter, p_deleting boolean) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    acct record;
BEGIN
    IF f.scope = 'user' THEN
        RETURN mailroom_write_refusal(f.user_id, 'a user filter needs a user',
            'a user''s filters are managed by that user or an admin');
    ELSIF f.scope = 'account' THEN
        SELECT kind, owner_user_id INTO acct
        FROM mail_account WHERE tenant_id = mailroom_current_tenant() AND id = f.account_id;
        IF NOT FOUND THEN
            -- As for folders: a delete without its account is that account's cascade.
            RETURN CASE WHEN p_deleting THEN NULL ELSE 'the mail account is not visible to this tenant' END;
        END IF;
        RETURN mailroom_write_refusal(CASE WHEN acct.kind = 'personal' THEN acct.owner_user_id END,
            'only admins manage filters of group accounts',
            'filters of a personal account are managed by its owner or an admin');
    END IF;
    RETURN mailroom_write_refusal(NULL, 'only admins manage global filters', NULL);
END $$;

CREATE FUNCTION mailroom_email_filter_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF mailroom_current_user() IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM mailroom_refuse_write(mailroom_filter_write_refusal(OLD, TG_OP = 'DELETE'), TG_OP,
            format('email filter "%s"', OLD.name));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    PERFORM mailroom_refuse_write(mailroom_filter_write_refusal(NEW, false), TG_OP, format('email filter "%s"', NEW.name));
    RETURN NEW;
END $$;
CREATE TRIGGER email_filter_access BEFORE INSERT OR UPDATE OR DELETE ON email_filter
    FOR EACH ROW EXECUTE FUNCTION mailroom_email_filter_access();

-- The directory decides every right above and the send rights of 0005 (roles, team membership,
-- admin flag, the addresses that route mail to a user's inbox). With a user set, only an active admin
-- may write it: otherwise a user could make themselves admin, join the team of a shared account, or
-- claim a colleague's address and receive their mail.
CREATE FUNCTION mailroom_directory_access() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mailroom_refuse_write(mailroom_write_refusal(NULL, 'only admins manage users, teams, roles and addresses', NULL),
        TG_OP, TG_TABLE_NAME || ' rows');
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER app_user_access BEFORE INSERT OR UPDATE OR DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
CREATE TRIGGER team_access BEFORE INSERT OR UPDATE OR DELETE ON team
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
CREATE TRIGGER team_position_access BEFORE INSERT OR UPDATE OR DELETE ON team_position
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
CREATE TRIGGER team_user_access BEFORE INSERT OR UPDATE OR DELETE ON team_user
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
CREATE TRIGGER role_access BEFORE INSERT OR UPDATE OR DELETE ON role
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
CREATE TRIGGER user_role_access BEFORE INSERT OR UPDATE OR DELETE ON user_role
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
CREATE TRIGGER email_address_owner_access BEFORE INSERT OR UPDATE OR DELETE ON email_address_owner
    FOR EACH ROW EXECUTE FUNCTION mailroom_directory_access();
