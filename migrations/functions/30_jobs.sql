-- The queue seen from the tenant side. Clients other than the owner and the service have no right on
-- `job` or `job_tenant_turn` (functions/access.sql); what they may ask of the queue goes through
-- these SECURITY DEFINER functions, each of which touches only jobs of the caller's tenant.

-- New credentials, a re-enabled account or a changed interval should not wait for the old schedule:
-- pull the account's pending polls forward to now. Row-level: the job rows to touch depend on the
-- row changed, and account changes are rare administrator actions. Owner rights because the change
-- may come from the CRM; the row itself passed the tenant policy, and only its tenant's jobs move.
CREATE OR REPLACE FUNCTION mailroom_account_repoll() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NEW.tenant_id IS DISTINCT FROM mailroom_current_tenant() AND NOT mailroom_caller_trusted() THEN
        RETURN NULL;
    END IF;
    UPDATE job SET run_at = now()
    WHERE tenant_id = NEW.tenant_id AND kind = 'poll' AND state = 'ready' AND run_at > now()
      AND payload->>'account' = NEW.id::text;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER mail_account_repoll
    AFTER UPDATE OF is_active, imap_host, imap_port, imap_security, imap_verify_tls, imap_username, imap_secret,
        poll_interval ON mail_account
    FOR EACH ROW WHEN (NEW.is_active) EXECUTE FUNCTION mailroom_account_repoll();

-- Asks for a poll of folder `p_folder` of the caller's tenant now (the CRM's "check mail" button):
-- its scheduled poll job runs at once, or once more right after the run under way. Returns false when
-- the folder has no poll job yet (the workers create it within seconds of the folder's insert).
CREATE OR REPLACE FUNCTION mailroom_request_poll(p_folder bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    touched integer;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION 'no tenant set for this transaction (mailroom.tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM mail_folder WHERE tenant_id = t AND id = p_folder) THEN
        RAISE EXCEPTION 'folder % does not exist in this tenant', p_folder USING ERRCODE = '22023';
    END IF;
    UPDATE job SET run_at = least(run_at, now()), rerun = rerun OR state = 'running'
    WHERE tenant_id = t AND unique_key = 'poll:folder:' || p_folder AND state IN ('ready', 'running');
    GET DIAGNOSTICS touched = ROW_COUNT;
    PERFORM pg_notify('mailroom_jobs', 'poll');
    RETURN touched > 0;
END $$;

-- Adds jobs of kind `p_kind` to tenant `p_tenant`'s queue, one per element of `p_payloads` (with the
-- matching unique key and repetition, when given), and wakes the workers: the one way a job row is
-- written (`mailroom_enqueue_sends`, JobQueries, PollScheduleQueries). A live job (ready or running)
-- with the same unique key is not duplicated: it moves earlier when the new one is due sooner, and a
-- running one due now runs once more right after (its `rerun`). Returns the ids of the jobs added or
-- moved.
--
-- The wake-up is debounced: one NOTIFY (payload: the kind) only when no ready job of this tenant and
-- kind is already due. A notifying transaction holds PostgreSQL's database-wide notification lock
-- from its pre-commit until its commit record is flushed, so notifying commits are serialised, disk
-- flush included; without the debounce, every queued email paid that. Why skipping it is safe: the
-- skip means a due job J1 of the same tenant and kind was visible, and J1 was announced itself (its
-- own enqueue notified or saw an earlier one, back to one that did), or falls due by the clock, which
-- an idle runner watches (`JobQueries.jobNextDueIn`). A runner claims J1 and ours together when ours
-- has committed by then; otherwise the runner that claimed J1 claims again when J1 finishes, which
-- finds ours when it has committed by then. The one case left (our commit lands after J1 was claimed
-- and finished and that runner went idle) is covered by the idle runner's bounded re-probe: every
-- runner looks for due work at least every `JobRunnerConfiguration.idleWait` (1 s) without any
-- notification, so a skipped wake-up delays a job by at most that. Our own rows are not counted (the
-- check runs before the insert); rows of an earlier enqueue of this transaction are, as that enqueue
-- notified or skipped by the same rule. Identical notifications of one transaction are delivered
-- once, so a transaction that enqueues many jobs wakes the workers at most once.
-- Invoker rights, service-only (functions/10_access.sql): the CRM asks for jobs through the SECURITY
-- DEFINER functions that check what it asks (`mailroom_enqueue_send`, `mailroom_request_poll`).
CREATE OR REPLACE FUNCTION mailroom_enqueue_jobs(
    p_tenant bigint, p_kind text, p_payloads jsonb[], p_unique_keys text[] DEFAULT NULL,
    p_run_at timestamptz DEFAULT NULL, p_priority integer DEFAULT 0, p_max_attempts integer DEFAULT 10,
    p_repeat_every interval[] DEFAULT NULL) RETURNS SETOF bigint
    LANGUAGE plpgsql AS $$
DECLARE
    announced boolean;
BEGIN
    IF coalesce(cardinality(p_payloads), 0) = 0 THEN
        RETURN;
    END IF;
    -- Before the insert, so our own rows do not count; through the partial index job_ready.
    announced := EXISTS (SELECT 1 FROM job WHERE tenant_id = p_tenant AND state = 'ready' AND run_at <= now() AND kind = p_kind);
    RETURN QUERY
    WITH turn AS (
        INSERT INTO job_tenant_turn (tenant_id) VALUES (p_tenant) ON CONFLICT DO NOTHING
    )
    INSERT INTO job AS j (tenant_id, kind, payload, unique_key, run_at, priority, max_attempts, repeat_every)
    SELECT p_tenant, p_kind, x.payload, x.unique_key, coalesce(p_run_at, now()), p_priority, p_max_attempts, x.every
    FROM unnest(p_payloads, p_unique_keys, p_repeat_every) AS x(payload, unique_key, every)
    ON CONFLICT (tenant_id, unique_key) WHERE unique_key IS NOT NULL AND state IN ('ready', 'running')
    DO UPDATE SET run_at = least(j.run_at, excluded.run_at),
                  rerun = j.rerun OR (j.state = 'running' AND excluded.run_at <= now())
    RETURNING j.id;
    IF NOT announced THEN
        PERFORM pg_notify('mailroom_jobs', p_kind);
    END IF;
END $$;
