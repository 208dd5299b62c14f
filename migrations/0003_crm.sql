-- CRM side of imported mail: followers, notifications, record streams and the case distribution
-- pointer. Every table is tenant-owned: tenant_id first in the key and in every foreign key, RLS forced.
--
-- Records are referenced as (record_type, record_id) because follows, notifications and streams
-- apply to every kind of record (case, contact, account, lead, opportunity); the type is checked,
-- the id is not a foreign key (a deleted record leaves its history readable).

-- A user following a record is notified of every email linked to it (and, for accounts, to the
-- account's records). Case assignees and creators follow their cases automatically.
CREATE TABLE follow (
    tenant_id   bigint NOT NULL,
    user_id     bigint NOT NULL,
    record_type text NOT NULL CHECK (record_type IN ('case', 'contact', 'account', 'lead', 'opportunity')),
    record_id   bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, record_type, record_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE
);
CREATE INDEX follow_user ON follow (tenant_id, user_id);

-- Notifications of every kind (incoming email on a followed record, and whatever else tells a user
-- something: sending failures ...). kind is free text so other features add kinds without a migration;
-- data carries the kind's details.
CREATE TABLE notification (
    tenant_id   bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    user_id     bigint NOT NULL,
    kind        text NOT NULL,
    email_id    bigint,
    record_type text CHECK (record_type IN ('case', 'contact', 'account', 'lead', 'opportunity')),
    record_id   bigint,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    CHECK ((record_type IS NULL) = (record_id IS NULL)),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE
);
CREATE INDEX notification_unread ON notification (tenant_id, user_id, created_at) WHERE read_at IS NULL;
-- One notification per follower per received email, however many followed records lead to it and
-- however often the import of a batch is retried.
CREATE UNIQUE INDEX notification_email_once ON notification (tenant_id, user_id, email_id) WHERE kind = 'email_received';

-- What happened to a record, oldest first.
CREATE TABLE stream_entry (
    tenant_id   bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    record_type text NOT NULL CHECK (record_type IN ('case', 'contact', 'account', 'lead', 'opportunity')),
    record_id   bigint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('email_received', 'email_sent', 'case_created', 'assigned', 'reopened')),
    email_id    bigint,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, email_id) REFERENCES email ON DELETE CASCADE
);
CREATE INDEX stream_entry_record ON stream_entry (tenant_id, record_type, record_id, id);

-- Round-robin / less-busy pointer: the user assigned last through an account for a team. Creating a
-- case locks this row (FOR UPDATE) before it counts, chooses and numbers, so replicas assigning cases
-- for the same account and team take turns and together produce exactly one replica's sequence.
CREATE TABLE case_distribution_pointer (
    tenant_id    bigint NOT NULL,
    account_id   bigint NOT NULL,
    team_id      bigint NOT NULL,
    last_user_id bigint,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, account_id, team_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES mail_account ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, team_id) REFERENCES team ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, last_user_id) REFERENCES app_user ON DELETE SET NULL (last_user_id)
);

-- Cases by number (the `[#N]` lookup uses the unique (tenant_id, number) index); emails of a case by
-- parent use email_parent.
CREATE INDEX support_case_open ON support_case (tenant_id, team_id, status);

SELECT mailroom_enable_tenant_rls(t) FROM unnest(ARRAY[
    'follow', 'notification', 'stream_entry', 'case_distribution_pointer'
]::regclass[]) AS t;
