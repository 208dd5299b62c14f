-- Mailroom foundation schema.
--
-- Tenancy: every tenant-owned table carries tenant_id, its primary key starts with tenant_id, and
-- every foreign key between tenant-owned tables includes tenant_id, so a row of one tenant can never
-- reference a row of another (the composite key makes such a link impossible to write).
-- Row-level security is enabled AND forced on each of them: a session sees and writes only the rows
-- of the tenant named in the transaction-local setting `mailroom.tenant_id`
-- (`SELECT set_config('mailroom.tenant_id', '42', true)`). With no tenant set, a session sees nothing.
-- FORCE makes the policy bind the table owner too; only superusers and BYPASSRLS roles escape it, and
-- Mailroom never connects as either.

CREATE FUNCTION mailroom_current_tenant() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('mailroom.tenant_id', true), '')::bigint $$;

-- Tenants are the one table without a tenant policy: the worker must enumerate them to find work.
-- It holds no mail and no secrets.
CREATE TABLE tenant (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug                  text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                  text NOT NULL,
    is_active             boolean NOT NULL DEFAULT true,
    -- Case statuses that count as closed for "less busy" distribution and reopening.
    closed_case_statuses  text[] NOT NULL DEFAULT '{Closed,Rejected,Duplicate}',
    -- B2C tenants link mail to the contact itself rather than to the contact's account.
    business_to_consumer  boolean NOT NULL DEFAULT false,
    max_personal_accounts integer NOT NULL DEFAULT 2 CHECK (max_personal_accounts >= 0),
    -- Senders that never get auto-replies (POSIX regex, case-insensitive).
    no_reply_pattern      text NOT NULL DEFAULT '^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+.-].*)?@',
    -- Next support case number; cases are numbered per tenant.
    next_case_number      bigint NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Applies the tenant isolation policy to a tenant-owned table.
CREATE FUNCTION mailroom_enable_tenant_rls(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s USING (tenant_id = mailroom_current_tenant()) '
                   'WITH CHECK (tenant_id = mailroom_current_tenant())', tbl);
END $$;

------------------------------------------------------------------------------------------------
-- People and permissions
------------------------------------------------------------------------------------------------

CREATE TABLE app_user (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    username   text NOT NULL,
    name       text NOT NULL,
    is_active  boolean NOT NULL DEFAULT true,
    is_admin   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, username)
);

CREATE TABLE team (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE team_position (
    tenant_id bigint NOT NULL,
    team_id   bigint NOT NULL,
    name      text NOT NULL,
    PRIMARY KEY (tenant_id, team_id, name),
    FOREIGN KEY (tenant_id, team_id) REFERENCES team ON DELETE CASCADE
);

CREATE TABLE team_user (
    tenant_id bigint NOT NULL,
    team_id   bigint NOT NULL,
    user_id   bigint NOT NULL,
    -- NULL: a member without a position. MATCH SIMPLE leaves the position FK unchecked when NULL.
    position  text,
    PRIMARY KEY (tenant_id, team_id, user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES team ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, team_id, position) REFERENCES team_position ON UPDATE CASCADE
);
CREATE INDEX team_user_user ON team_user (tenant_id, user_id);

CREATE TABLE role (
    tenant_id                      bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id                             bigint GENERATED ALWAYS AS IDENTITY,
    name                           text NOT NULL,
    -- Who may send through shared group accounts: nobody, members of the account's teams, everybody.
    group_email_account_permission text NOT NULL DEFAULT 'no'
        CHECK (group_email_account_permission IN ('no', 'team', 'all')),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE user_role (
    tenant_id bigint NOT NULL,
    user_id   bigint NOT NULL,
    role_id   bigint NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES role ON DELETE CASCADE
);

------------------------------------------------------------------------------------------------
-- CRM records
------------------------------------------------------------------------------------------------

CREATE TABLE crm_account (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE contact (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL,
    account_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, account_id) REFERENCES crm_account ON DELETE SET NULL (account_id)
);

CREATE TABLE lead (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL,
    status     text NOT NULL DEFAULT 'New',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE opportunity (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    name       text NOT NULL,
    account_id bigint,
    stage      text NOT NULL DEFAULT 'Prospecting',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, account_id) REFERENCES crm_account ON DELETE SET NULL (account_id)
);

-- Every email address a user or record holds, one row per (address, owner). Exactly one owner column
-- is set, so each row keeps a real foreign key; one index on (tenant_id, address) answers "who is
-- behind this address" for linking and inbox delivery in a single lookup.
CREATE TABLE email_address_owner (
    tenant_id  bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    address    text NOT NULL CHECK (address = lower(address) AND address LIKE '%_@_%'),
    user_id    bigint,
    contact_id bigint,
    account_id bigint,
    lead_id    bigint,
    is_primary boolean NOT NULL DEFAULT false,
    position   integer NOT NULL DEFAULT 0,
    CHECK (num_nonnulls(user_id, contact_id, account_id, lead_id) = 1),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES crm_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead ON DELETE CASCADE
);
CREATE UNIQUE INDEX email_address_owner_unique ON email_address_owner
    (tenant_id, address, coalesce(user_id, 0), coalesce(contact_id, 0), coalesce(account_id, 0), coalesce(lead_id, 0));
CREATE INDEX email_address_owner_user ON email_address_owner (tenant_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE support_case (
    tenant_id               bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id                      bigint GENERATED ALWAYS AS IDENTITY,
    number                  bigint NOT NULL,
    name                    text NOT NULL,
    description             text,
    status                  text NOT NULL DEFAULT 'New',
    priority                text NOT NULL DEFAULT 'Normal',
    type                    text,
    team_id                 bigint,
    assigned_user_id        bigint,
    contact_id              bigint,
    account_id              bigint,
    lead_id                 bigint,
    source_account_id       bigint,
    created_by_user_id      bigint,
    last_activity_at        timestamptz NOT NULL DEFAULT now(),
    created_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, team_id) REFERENCES team ON DELETE SET NULL (team_id),
    FOREIGN KEY (tenant_id, assigned_user_id) REFERENCES app_user ON DELETE SET NULL (assigned_user_id),
    FOREIGN KEY (tenant_id, created_by_user_id) REFERENCES app_user ON DELETE SET NULL (created_by_user_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contact ON DELETE SET NULL (contact_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES crm_account ON DELETE SET NULL (account_id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES lead ON DELETE SET NULL (lead_id)
);
-- "Less busy" counts open cases per assignee.
CREATE INDEX support_case_assignee ON support_case (tenant_id, assigned_user_id, status);

------------------------------------------------------------------------------------------------
-- Mail accounts: group (shared, e.g. support@) and personal (owned by one user) in one table, so the
-- sync engine, cursors, links and jobs treat both alike. Group-only settings are NULL on personal ones.
------------------------------------------------------------------------------------------------

CREATE TABLE mail_account (
    tenant_id            bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    kind                 text NOT NULL CHECK (kind IN ('group', 'personal')),
    owner_user_id        bigint,
    name                 text NOT NULL,
    address              text NOT NULL CHECK (address = lower(address)),
    display_name         text,
    reply_to             text,
    is_active            boolean NOT NULL DEFAULT true,

    -- IMAP
    imap_host            text,
    imap_port            integer CHECK (imap_port BETWEEN 1 AND 65535),
    imap_security        text NOT NULL DEFAULT 'tls' CHECK (imap_security IN ('none', 'starttls', 'tls')),
    imap_verify_tls      boolean NOT NULL DEFAULT true,
    imap_username        text,
    -- AES-256-GCM sealed (version || nonce || ciphertext || tag), bound to this row by its AAD.
    imap_secret          bytea,
    fetch_since          date,
    keep_unread          boolean NOT NULL DEFAULT false,
    max_message_size     bigint NOT NULL DEFAULT 26214400 CHECK (max_message_size > 0),
    poll_interval        interval NOT NULL DEFAULT '60 seconds' CHECK (poll_interval >= interval '10 seconds'),
    sent_folder          text,

    -- SMTP
    smtp_host            text,
    smtp_port            integer CHECK (smtp_port BETWEEN 1 AND 65535),
    smtp_security        text NOT NULL DEFAULT 'starttls' CHECK (smtp_security IN ('none', 'starttls', 'tls')),
    smtp_verify_tls      boolean NOT NULL DEFAULT true,
    smtp_username        text,
    smtp_secret          bytea,
    smtp_auth            text NOT NULL DEFAULT 'plain' CHECK (smtp_auth IN ('plain', 'login', 'none')),
    smtp_shared          boolean NOT NULL DEFAULT false,
    smtp_store_sent      boolean NOT NULL DEFAULT false,

    -- Email-to-Case (group accounts)
    case_create          boolean NOT NULL DEFAULT false,
    case_distribution    text CHECK (case_distribution IN ('direct', 'round_robin', 'less_busy')),
    case_team_id         bigint,
    case_position        text,
    case_assign_user_id  bigint,
    case_add_all_team_users boolean NOT NULL DEFAULT true,
    case_reopen_enabled  boolean NOT NULL DEFAULT false,
    case_reopen_status   text NOT NULL DEFAULT 'Assigned',
    case_number_trust    text NOT NULL DEFAULT 'related' CHECK (case_number_trust IN ('related', 'any')),
    -- Round-robin pointer: the user assigned last through this account.
    case_last_assigned_user_id bigint,

    -- Auto-reply (group accounts)
    auto_reply_enabled       boolean NOT NULL DEFAULT false,
    auto_reply_subject       text,
    auto_reply_body          text,
    auto_reply_from_address  text,
    auto_reply_from_name     text,
    auto_reply_reply_to      text,
    auto_reply_limit_count   integer NOT NULL DEFAULT 5 CHECK (auto_reply_limit_count >= 0),
    auto_reply_limit_window  interval NOT NULL DEFAULT '2 hours',

    -- Connection health, written by the worker.
    last_error           text,
    last_error_at        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),

    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, kind, name),
    CHECK ((kind = 'personal') = (owner_user_id IS NOT NULL)),
    FOREIGN KEY (tenant_id, owner_user_id) REFERENCES app_user ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, case_team_id) REFERENCES team ON DELETE SET NULL (case_team_id),
    FOREIGN KEY (tenant_id, case_assign_user_id) REFERENCES app_user ON DELETE SET NULL (case_assign_user_id),
    FOREIGN KEY (tenant_id, case_last_assigned_user_id) REFERENCES app_user ON DELETE SET NULL (case_last_assigned_user_id)
);
-- One group mailbox per address per tenant; personal accounts may repeat a group address.
CREATE UNIQUE INDEX mail_account_group_address ON mail_account (tenant_id, address) WHERE kind = 'group';

CREATE TABLE mail_account_team (
    tenant_id  bigint NOT NULL,
    account_id bigint NOT NULL,
    team_id    bigint NOT NULL,
    PRIMARY KEY (tenant_id, account_id, team_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, team_id) REFERENCES team ON DELETE CASCADE
);

-- One monitored IMAP folder and its sync cursor. The cursor is (uidvalidity, last_uid): every message
-- with a UID <= last_uid in that UIDVALIDITY epoch has been stored, filtered or recorded as failed.
-- It only moves in the transaction that stores the messages it covers.
CREATE TABLE mail_folder (
    tenant_id             bigint NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    account_id            bigint NOT NULL,
    name                  text NOT NULL,
    -- Where the mail is filed for users ('inbox', 'sent', or a user folder name).
    target                text NOT NULL DEFAULT 'inbox',
    is_active             boolean NOT NULL DEFAULT true,
    uidvalidity           bigint CHECK (uidvalidity BETWEEN 1 AND 4294967295),
    last_uid              bigint NOT NULL DEFAULT 0 CHECK (last_uid BETWEEN 0 AND 4294967295),
    uidnext               bigint,
    last_poll_started_at  timestamptz,
    last_poll_at          timestamptz,
    last_success_at       timestamptz,
    last_error            text,
    last_error_at         timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    messages_imported     bigint NOT NULL DEFAULT 0,
    messages_skipped      bigint NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, account_id, name),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE
);

-- Named sync events (a UIDVALIDITY change is never a silent reset).
CREATE TABLE mail_sync_event (
    tenant_id  bigint NOT NULL,
    id         bigint GENERATED ALWAYS AS IDENTITY,
    folder_id  bigint NOT NULL,
    kind       text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, folder_id) REFERENCES mail_folder ON DELETE CASCADE
);

------------------------------------------------------------------------------------------------
-- Emails
------------------------------------------------------------------------------------------------

CREATE TABLE email (
    tenant_id        bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    id               bigint GENERATED ALWAYS AS IDENTITY,
    -- Without angle brackets. Unique per tenant: the dedupe key for every import path (ON CONFLICT,
    -- no table lock). Mail without one gets `<digest>@synthetic.mailroom.invalid` from its content.
    message_id       text NOT NULL,
    message_id_synthetic boolean NOT NULL DEFAULT false,
    subject          text,
    from_address     text,
    from_name        text,
    date_sent        timestamptz,
    date_received    timestamptz,
    imported_at      timestamptz NOT NULL DEFAULT now(),
    body_text        text,
    body_html        text,
    -- Every top-level header as [[name, value], ...] in order; rules read from here.
    headers          jsonb NOT NULL DEFAULT '[]',
    in_reply_to      text,
    "references"     text[] NOT NULL DEFAULT '{}',
    size             integer NOT NULL DEFAULT 0,
    is_header_only   boolean NOT NULL DEFAULT false,
    import_note      text,
    status           text NOT NULL DEFAULT 'Archived'
        CHECK (status IN ('Draft', 'Sending', 'Sent', 'Archived', 'Failed')),
    -- The record this email belongs to (case, contact, account, lead, opportunity).
    parent_type      text CHECK (parent_type IN ('case', 'contact', 'account', 'lead', 'opportunity')),
    parent_id        bigint,
    -- The CRM account of the parent, for account-level streams.
    crm_account_id   bigint,
    created_by_user_id bigint,
    CHECK ((parent_type IS NULL) = (parent_id IS NULL)),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, message_id),
    FOREIGN KEY (tenant_id, crm_account_id) REFERENCES crm_account ON DELETE SET NULL (crm_account_id),
    FOREIGN KEY (tenant_id, created_by_user_id) REFERENCES app_user ON DELETE SET NULL (created_by_user_id)
);
CREATE INDEX email_parent ON email (tenant_id, parent_type, parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX email_date ON email (tenant_id, date_sent DESC);

-- Addresses of an email in header order: kind is from / to / cc / bcc / reply_to / sender.
CREATE TABLE email_recipient (
    tenant_id bigint NOT NULL,
    email_id  bigint NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('from', 'sender', 'to', 'cc', 'bcc', 'reply_to')),
    position  integer NOT NULL,
    address   text NOT NULL,
    name      text,
    PRIMARY KEY (tenant_id, email_id, kind, position),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE
);
CREATE INDEX email_recipient_address ON email_recipient (tenant_id, address);

-- Where each email was found. One email may live in several accounts of its tenant.
CREATE TABLE email_account_link (
    tenant_id   bigint NOT NULL,
    email_id    bigint NOT NULL,
    account_id  bigint NOT NULL,
    folder_id   bigint,
    uidvalidity bigint,
    uid         bigint,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email_id, account_id),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, folder_id) REFERENCES mail_folder ON DELETE SET NULL (folder_id)
);
CREATE INDEX email_account_link_account ON email_account_link (tenant_id, account_id);

-- Each user's own view of an email: read, important, trash and folder are per user.
CREATE TABLE email_user (
    tenant_id    bigint NOT NULL,
    email_id     bigint NOT NULL,
    user_id      bigint NOT NULL,
    is_read      boolean NOT NULL DEFAULT false,
    is_important boolean NOT NULL DEFAULT false,
    in_trash     boolean NOT NULL DEFAULT false,
    folder       text,
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email_id, user_id),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE
);
CREATE INDEX email_user_inbox ON email_user (tenant_id, user_id, in_trash, is_read);

-- Teams that see an email (group mail is shared with the account's teams).
CREATE TABLE email_team (
    tenant_id bigint NOT NULL,
    email_id  bigint NOT NULL,
    team_id   bigint NOT NULL,
    PRIMARY KEY (tenant_id, email_id, team_id),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, team_id) REFERENCES team ON DELETE CASCADE
);

CREATE TABLE attachment (
    tenant_id    bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    email_id     bigint NOT NULL,
    position     integer NOT NULL,
    filename     text,
    content_type text NOT NULL,
    content_id   text,
    is_inline    boolean NOT NULL DEFAULT false,
    size         integer NOT NULL,
    data         bytea NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email_id, position),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE
);

-- A message that could not be fetched, parsed or stored. The folder cursor moves past it (so one bad
-- message never blocks its mailbox); the failure is retried with backoff until max attempts, then
-- stays here as 'failed' with its reason, visible to operators.
CREATE TABLE import_failure (
    tenant_id       bigint NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    account_id      bigint NOT NULL,
    folder_id       bigint NOT NULL,
    uidvalidity     bigint NOT NULL,
    uid             bigint NOT NULL,
    stage           text NOT NULL CHECK (stage IN ('fetch', 'parse', 'store')),
    reason          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 1,
    state           text NOT NULL DEFAULT 'retrying' CHECK (state IN ('retrying', 'failed', 'resolved')),
    next_attempt_at timestamptz,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    resolved_email_id bigint,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, folder_id, uidvalidity, uid),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, folder_id) REFERENCES mail_folder ON DELETE CASCADE
);
CREATE INDEX import_failure_due ON import_failure (tenant_id, folder_id, next_attempt_at) WHERE state = 'retrying';

SELECT mailroom_enable_tenant_rls(t) FROM unnest(ARRAY[
    'app_user', 'team', 'team_position', 'team_user', 'role', 'user_role',
    'crm_account', 'contact', 'lead', 'opportunity', 'email_address_owner', 'support_case',
    'mail_account', 'mail_account_team', 'mail_folder', 'mail_sync_event',
    'email', 'email_recipient', 'email_account_link', 'email_user', 'email_team', 'attachment',
    'import_failure'
]::regclass[]) AS t;
