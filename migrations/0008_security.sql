-- Security for every database client: schema changes only. The rules themselves (who may queue,
-- change or enqueue an outgoing email; the roles' grants and policies) are code and live in
-- migrations/functions/, re-applied by the migrator whenever they change.
--
-- Three roles (docs/security.md): the owner (runs migrations; the operator), the worker's service
-- role and the host CRM's role. Their grants and policies are written by
-- `mailroom_apply_access(service, crm)` (functions/access.sql), which `mailroom migrate` runs after
-- the migrations with the configured role names.

------------------------------------------------------------------------------------------------
-- Header-bound text: refused with a line break in it, at insert, for every client. A line break in
-- a subject, a name, an address or a Message-ID becomes a header injection once the value reaches
-- a composed message. A domain rather than a CHECK constraint: a domain's violation message names
-- the domain, never the failing row, so the raw value is not echoed back.
------------------------------------------------------------------------------------------------

CREATE DOMAIN mailroom_header_text AS text CHECK (VALUE !~ '[\r\n]');
CREATE DOMAIN mailroom_header_list AS text[] CHECK (array_to_string(VALUE, ' ') !~ '[\r\n]');

-- Rows stored before this rule may hold a folded value; unfold them (every tenant's rows: row-level
-- security binds the owner too, so it is lifted for these statements, inside this transaction).
ALTER TABLE email NO FORCE ROW LEVEL SECURITY;
ALTER TABLE email DISABLE ROW LEVEL SECURITY;
UPDATE email SET subject = regexp_replace(subject, '[\r\n]+', ' ', 'g') WHERE subject ~ '[\r\n]';
UPDATE email SET from_name = regexp_replace(from_name, '[\r\n]+', ' ', 'g') WHERE from_name ~ '[\r\n]';
UPDATE email SET "references" = ARRAY(SELECT regexp_replace(r, '[\r\n]+', '', 'g') FROM unnest("references") r)
WHERE array_to_string("references", ' ') ~ '[\r\n]';
ALTER TABLE email ENABLE ROW LEVEL SECURITY;
ALTER TABLE email FORCE ROW LEVEL SECURITY;
ALTER TABLE email_recipient NO FORCE ROW LEVEL SECURITY;
ALTER TABLE email_recipient DISABLE ROW LEVEL SECURITY;
UPDATE email_recipient SET name = regexp_replace(name, '[\r\n]+', ' ', 'g') WHERE name ~ '[\r\n]';
ALTER TABLE email_recipient ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_recipient FORCE ROW LEVEL SECURITY;
ALTER TABLE attachment NO FORCE ROW LEVEL SECURITY;
ALTER TABLE attachment DISABLE ROW LEVEL SECURITY;
UPDATE attachment SET filename = regexp_replace(filename, '[\r\n]+', ' ', 'g') WHERE filename ~ '[\r\n]';
ALTER TABLE attachment ENABLE ROW LEVEL SECURITY;
ALTER TABLE attachment FORCE ROW LEVEL SECURITY;

ALTER TABLE email
    ALTER COLUMN message_id TYPE mailroom_header_text,
    ALTER COLUMN subject TYPE mailroom_header_text,
    ALTER COLUMN from_address TYPE mailroom_header_text,
    ALTER COLUMN from_name TYPE mailroom_header_text,
    ALTER COLUMN in_reply_to TYPE mailroom_header_text,
    ALTER COLUMN "references" TYPE mailroom_header_list;
ALTER TABLE email_recipient
    ALTER COLUMN address TYPE mailroom_header_text,
    ALTER COLUMN name TYPE mailroom_header_text;
ALTER TABLE attachment
    ALTER COLUMN filename TYPE mailroom_header_text,
    ALTER COLUMN content_type TYPE mailroom_header_text,
    ALTER COLUMN content_id TYPE mailroom_header_text;
ALTER TABLE mail_account
    ALTER COLUMN address TYPE mailroom_header_text,
    ALTER COLUMN display_name TYPE mailroom_header_text,
    ALTER COLUMN reply_to TYPE mailroom_header_text,
    ALTER COLUMN auto_reply_subject TYPE mailroom_header_text,
    ALTER COLUMN auto_reply_from_address TYPE mailroom_header_text,
    ALTER COLUMN auto_reply_from_name TYPE mailroom_header_text,
    ALTER COLUMN auto_reply_reply_to TYPE mailroom_header_text;

------------------------------------------------------------------------------------------------
-- Strict settings: every enumerated value has a CHECK, and no setting is read as a default when
-- it is missing. Case distribution was NULL-able and read as 'direct' when NULL; it is now a value.
------------------------------------------------------------------------------------------------

ALTER TABLE mail_account NO FORCE ROW LEVEL SECURITY;
ALTER TABLE mail_account DISABLE ROW LEVEL SECURITY;
UPDATE mail_account SET case_distribution = 'direct' WHERE case_distribution IS NULL;
ALTER TABLE mail_account ENABLE ROW LEVEL SECURITY;
ALTER TABLE mail_account FORCE ROW LEVEL SECURITY;
ALTER TABLE mail_account
    ALTER COLUMN case_distribution SET DEFAULT 'direct',
    ALTER COLUMN case_distribution SET NOT NULL;


------------------------------------------------------------------------------------------------
-- Row-level security on the queue and on tenants, forced like every tenant table. Each keeps its
-- tenant policy (a client sees its own tenant's row and jobs); functions/access.sql adds the
-- narrow policies through which the owner and the service role work across tenants.
------------------------------------------------------------------------------------------------

ALTER TABLE job FORCE ROW LEVEL SECURITY;
ALTER TABLE job_tenant_turn FORCE ROW LEVEL SECURITY;
ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self ON tenant FOR SELECT USING (id = mailroom_current_tenant());

