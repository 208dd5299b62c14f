-- The job queue: every replica claims work from here with FOR UPDATE SKIP LOCKED.
--
-- Layout choices, for a table that churns constantly:
-- * One row per job; a periodic job (a folder's poll) is one row that re-arms itself (state back to
--   'ready' with a later run_at) instead of inserting a new row per run, so a mailbox polled every
--   10 s creates no garbage rows, only HOT updates.
-- * The claim index is partial on 'ready' rows: it stays as small as the backlog, whatever the
--   history (QUEUE-NOTES: 41 buffers vs 3 with unvacuumed claimed rows in the index).
-- * fillfactor 70 leaves room on each page for HOT updates of state / lease columns.
-- * Autovacuum by row count, not by table fraction (scale factor 0): a 1 % threshold on a large
--   queue would let dead tuples pile up between vacuums.
-- * Finished one-off jobs are deleted by the pruner; failed ones stay visible with their errors.
--
-- Row-level security: tenant clients see only their tenant's jobs. The policy is ENABLEd but not
-- FORCEd here, unlike the tenant data tables: the owner role (the Mailroom service) must claim across
-- tenants in one statement, which is the point of a fair shared queue. Jobs hold ids, never mail.
CREATE TABLE job (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    -- At most one live job per key and tenant (e.g. 'poll:folder:42'), so a manual poll and the
    -- scheduled one are the same row.
    unique_key   text,
    state        text NOT NULL DEFAULT 'ready'
        CHECK (state IN ('ready', 'running', 'done', 'failed')),
    priority     smallint NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempt      integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    -- Lease: who runs it and until when. A heartbeat extends lease_until; the rescuer returns jobs
    -- whose lease expired (their replica died) to 'ready'. lease_epoch increments on every claim, so
    -- a replica that lost its lease cannot complete the job it no longer owns.
    lease_owner  text,
    lease_until  timestamptz,
    lease_epoch  bigint NOT NULL DEFAULT 0,
    last_error   text,
    -- Periodic jobs: the interval after which a finished run re-arms.
    repeat_every interval,
    -- Set when someone asked for a run while this one was running (a manual poll during a scheduled
    -- one): the job re-arms for right away instead of after repeat_every.
    rerun        boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    CHECK ((state = 'running') = (lease_owner IS NOT NULL))
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
        autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);

-- Claimable work per tenant, in due order: the fair claim walks tenants and takes each one's head.
CREATE INDEX job_ready ON job (tenant_id, run_at, id) WHERE state = 'ready';
-- Leases to rescue and per-tenant running counts (the concurrency cap).
CREATE INDEX job_running ON job (tenant_id, lease_until) WHERE state = 'running';
CREATE UNIQUE INDEX job_unique_live ON job (tenant_id, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('ready', 'running');
CREATE INDEX job_finished ON job (finished_at) WHERE state = 'done';

ALTER TABLE job ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job USING (tenant_id = mailroom_current_tenant())
    WITH CHECK (tenant_id = mailroom_current_tenant());

-- Round-robin state of the fair claim: which tenant was served last. One row per tenant with work.
CREATE TABLE job_tenant_turn (
    tenant_id       bigint PRIMARY KEY REFERENCES tenant(id) ON DELETE CASCADE,
    last_claimed_at timestamptz NOT NULL DEFAULT '-infinity'
) WITH (fillfactor = 50);
ALTER TABLE job_tenant_turn ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_tenant_turn USING (tenant_id = mailroom_current_tenant())
    WITH CHECK (tenant_id = mailroom_current_tenant());

-- Every poll of a folder with its start and end, for operators and for the no-overlap guarantee.
CREATE TABLE mail_poll_log (
    tenant_id   bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    folder_id   bigint NOT NULL,
    worker      text NOT NULL,
    trigger     text NOT NULL DEFAULT 'schedule',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    imported    integer NOT NULL DEFAULT 0,
    error       text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, folder_id) REFERENCES mail_folder ON DELETE CASCADE
);
CREATE INDEX mail_poll_log_folder ON mail_poll_log (tenant_id, folder_id, started_at);
SELECT mailroom_enable_tenant_rls('mail_poll_log');

-- Configuration changes wake the workers: an account or folder inserted, enabled, disabled or given
-- new credentials takes effect within seconds, no restart. Statement-level, so a bulk change sends one
-- notification; the payload is a hint, the reconciler reads the truth.
CREATE FUNCTION mailroom_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mailroom_config', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- Only columns that change what is polled, or how: the worker's own status writes (last_error) stay quiet.
CREATE TRIGGER mail_account_config
    AFTER INSERT OR DELETE OR UPDATE OF is_active, imap_host, imap_port, imap_security, imap_verify_tls,
        imap_username, imap_secret, poll_interval, fetch_since, keep_unread, max_message_size ON mail_account
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_config();
CREATE TRIGGER mail_folder_config AFTER INSERT OR UPDATE OF is_active, name ON mail_folder
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_config();
CREATE TRIGGER app_user_config AFTER UPDATE OF is_active ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION mailroom_notify_config();

-- New credentials, a re-enabled account or a changed interval should not wait for the old schedule:
-- pull the account's pending polls forward to now. Row-level on purpose: the job rows to touch depend
-- on the row changed, and account changes are rare administrator actions.
CREATE FUNCTION mailroom_account_repoll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job SET run_at = now()
    WHERE tenant_id = NEW.tenant_id AND kind = 'poll' AND state = 'ready' AND run_at > now()
      AND payload->>'account' = NEW.id::text;
    RETURN NULL;
END $$;
CREATE TRIGGER mail_account_repoll
    AFTER UPDATE OF is_active, imap_host, imap_port, imap_security, imap_verify_tls, imap_username, imap_secret,
        poll_interval ON mail_account
    FOR EACH ROW WHEN (NEW.is_active) EXECUTE FUNCTION mailroom_account_repoll();
