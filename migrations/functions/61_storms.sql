-- Storm breakers (migrations/0024_storm_breakers.sql, docs/crm.md). Rights (functions/10_access.sql):
-- only the service takes slots; the CRM reads the counts and trips but cannot write them (a CRM that
-- could reset a count would lift the limit).

-- Takes one `p_slot` slot (`create` or `reopen`) for `p_sender` under the limits of `p_account` in the
-- current tenant. Answers `taken` when fewer than the account's limit were taken within its window
-- (the slot is recorded, and a trip of this sender and slot ends), `tripped` for the first mail held
-- back past the limit (the caller logs it: once per trip), `held` for the following ones (counted in
-- `held_back`). Atomic under concurrency as `mailroom_auto_reply_take`: the upsert locks the sender's
-- row and re-checks the window against its latest version, so replicas importing the same sender at
-- once never take more than the limit together; ON CONFLICT DO UPDATE locks the row even when its
-- WHERE refuses, so the trip update that follows sees the same row.
CREATE OR REPLACE FUNCTION mailroom_case_sender_take(p_account bigint, p_sender text, p_slot text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    t bigint := mailroom_current_tenant();
    lim integer;
    win interval;
    keep interval;
    taken boolean;
    held integer;
BEGIN
    IF p_slot NOT IN ('create', 'reopen') THEN
        RAISE EXCEPTION 'unknown storm breaker slot %', p_slot USING ERRCODE = '22023';
    END IF;
    SELECT CASE p_slot WHEN 'create' THEN case_sender_limit_cases ELSE case_sender_limit_reopens END,
           case_sender_limit_window
    INTO lim, win FROM mail_account WHERE tenant_id = t AND id = p_account;
    IF lim IS NULL THEN
        RAISE EXCEPTION 'no mail account % in tenant %', p_account, t USING ERRCODE = '23503';
    END IF;
    -- The count is the tenant's; entries are kept for the longest window any of its accounts looks back.
    SELECT greatest(win, max(case_sender_limit_window)) INTO keep FROM mail_account WHERE tenant_id = t;
    INSERT INTO case_sender_limit AS s (tenant_id, sender, slot, taken_at)
    VALUES (t, lower(p_sender), p_slot, ARRAY[now()])
    ON CONFLICT (tenant_id, sender, slot) DO UPDATE
        SET taken_at = ARRAY(SELECT x FROM unnest(s.taken_at) x WHERE x > now() - keep ORDER BY x) || now(),
            tripped_account_id = NULL, tripped_at = NULL, held_back = 0, last_held_at = NULL
        WHERE (SELECT count(*) FROM unnest(s.taken_at) x WHERE x > now() - win) < lim
    RETURNING true INTO taken;
    IF taken THEN
        RETURN 'taken';
    END IF;
    UPDATE case_sender_limit s
    SET tripped_account_id = CASE WHEN s.tripped_at IS NULL THEN p_account ELSE s.tripped_account_id END,
        tripped_at = coalesce(s.tripped_at, now()), held_back = s.held_back + 1, last_held_at = now()
    WHERE s.tenant_id = t AND s.sender = lower(p_sender) AND s.slot = p_slot
    RETURNING s.held_back INTO held;
    RETURN CASE WHEN held = 1 THEN 'tripped' ELSE 'held' END;
END $$;

-- Whether the trip of this row still holds: the next slot under the tripping account's limits would be
-- refused. A trip whose window passed ends by itself (the next take records a slot and clears it);
-- until a mail comes, the row keeps it, and this says it is over.
CREATE OR REPLACE FUNCTION mailroom_case_sender_tripped(s case_sender_limit) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    lim integer;
    win interval;
BEGIN
    IF s.tripped_at IS NULL THEN
        RETURN false;
    END IF;
    SELECT CASE s.slot WHEN 'create' THEN case_sender_limit_cases ELSE case_sender_limit_reopens END,
           case_sender_limit_window
    INTO lim, win FROM mail_account WHERE tenant_id = s.tenant_id AND id = s.tripped_account_id;
    IF lim IS NULL THEN
        RETURN false;
    END IF;
    RETURN (SELECT count(*) FROM unnest(s.taken_at) x WHERE x > now() - win) >= lim;
END $$;
