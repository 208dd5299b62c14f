import Foundation
import MailCore

/// Queries on `job` and `job_tenant_turn`: the queue every replica shares (River's shape: claim in
/// one statement with FOR UPDATE SKIP LOCKED that also marks the rows running; complete in batches;
/// rescue expired leases; prune finished rows).
public enum JobQueries {
    /// Adds a job, or, when a live job with the same unique key exists, moves it earlier (a manual
    /// "poll now") and, if it is running, asks it to run again right after; wakes the workers.
    @discardableResult
    public static func jobEnqueue(_ conn: PostgresConnection, tenant: TenantID, kind: String, payload: String = "{}",
                                  uniqueKey: String? = nil, runAt: Date? = nil, priority: Int = 0, maxAttempts: Int = 10,
                                  repeatEvery: Duration? = nil) throws -> Int64 {
        let every = repeatEvery.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        // mailroom_enqueue_jobs (functions/30_jobs.sql): the one writer of job rows; wakes the workers.
        return try conn.query("""
            SELECT mailroom_enqueue_jobs(\(tenant), \(kind), ARRAY[\(payload)::jsonb], ARRAY[\(uniqueKey)::text],
                                         \(runAt)::timestamptz, \(priority), \(maxAttempts),
                                         ARRAY[make_interval(secs => \(every)::float8)])
            """).one().decode(at: 0)
    }

    /// Claims up to `limit` due jobs for `owner`, fairly across tenants: tenants with due work are
    /// served least-recently-claimed first, each contributes at most its room under `perTenantCap`
    /// running jobs, and the batch interleaves tenants by rank (each tenant's 1st job, then each 2nd
    /// ...). Tenant rows are read without locks, so claimers never serialise on a busy tenant;
    /// fairness is exact per claim and approximate across concurrent claimers.
    public static func jobClaim(_ conn: PostgresConnection, owner: String, limit: Int, perTenantCap: Int,
                                lease: Duration, kinds: [String]? = nil) throws -> [Job] {
        // Prepared: planning this statement costs more than running it (measured: 2-3x the claim rate).
        try conn.query(jobClaimSQL(owner: owner, limit: limit, perTenantCap: perTenantCap, lease: lease, kinds: kinds),
                       prepared: true).map(Job.init(claimed:))
    }

    /// The statement `jobClaim` runs, for tools that must run exactly it (the benchmark's raw-SQL baseline).
    public static func jobClaimSQL(owner: String, limit: Int, perTenantCap: Int, lease: Duration, kinds: [String]? = nil) -> SQL {
        let leaseSeconds = Double(lease.components.seconds)
        let kindFilter = PostgresArray(kinds ?? [])
        let all = kinds == nil
        return """
            WITH turn AS (
                SELECT tt.tenant_id, tt.last_claimed_at,
                       greatest(0, \(perTenantCap) - (SELECT count(*) FROM job r WHERE r.tenant_id = tt.tenant_id AND r.state = 'running'))::int AS room
                FROM job_tenant_turn tt
                WHERE EXISTS (SELECT 1 FROM job j WHERE j.tenant_id = tt.tenant_id AND j.state = 'ready' AND j.run_at <= now()
                              AND (\(all) OR j.kind = ANY(\(kindFilter)::text[])))
                ORDER BY tt.last_claimed_at, tt.tenant_id
                LIMIT \(limit)
            ), locked AS (
                SELECT c.id, c.tenant_id, c.run_at, c.priority, turn.last_claimed_at
                FROM turn CROSS JOIN LATERAL (
                    SELECT j.id, j.tenant_id, j.run_at, j.priority FROM job j
                    WHERE j.tenant_id = turn.tenant_id AND j.state = 'ready' AND j.run_at <= now()
                      AND (\(all) OR j.kind = ANY(\(kindFilter)::text[]))
                    ORDER BY j.run_at, j.id
                    LIMIT least(turn.room, \(limit))
                    FOR UPDATE OF j SKIP LOCKED
                ) c
            ), chosen AS (
                SELECT id FROM (
                    SELECT id, tenant_id, last_claimed_at,
                           row_number() OVER (PARTITION BY tenant_id ORDER BY priority DESC, run_at, id) AS rank
                    FROM locked
                ) r
                ORDER BY rank, last_claimed_at, tenant_id
                LIMIT \(limit)
            ), claimed AS (
                UPDATE job j SET state = 'running', lease_owner = \(owner),
                       lease_until = now() + make_interval(secs => \(leaseSeconds)),
                       lease_epoch = j.lease_epoch + 1, attempt = j.attempt + 1, started_at = now(), rerun = false
                FROM chosen WHERE j.id = chosen.id
                RETURNING j.id, j.tenant_id, j.kind, j.payload::text, j.attempt, j.max_attempts, j.lease_epoch,
                          j.repeat_every IS NOT NULL, extract(epoch FROM now() - j.run_at)::float8
            ), turned AS (
                -- The turn is a fairness hint, so a row another replica is moving right now is skipped,
                -- not waited for: waiting on several tenants' rows in plan order deadlocked replicas
                -- that claimed for overlapping tenants.
                UPDATE job_tenant_turn tt SET last_claimed_at = clock_timestamp()
                FROM (SELECT t.tenant_id FROM job_tenant_turn t
                      WHERE t.tenant_id IN (SELECT DISTINCT tenant_id FROM claimed)
                      FOR UPDATE SKIP LOCKED) mine
                WHERE tt.tenant_id = mine.tenant_id
            )
            SELECT * FROM claimed
            """
    }

    /// Seconds until the earliest ready job falls due (negative: overdue), nil when none is ready.
    /// One probe of `job_ready` per tenant, so it stays cheap with many ready jobs; measured by the
    /// database's clock, like `run_at`.
    public static func jobNextDueIn(_ conn: PostgresConnection, kinds: [String]? = nil) throws -> Double? {
        let all = kinds == nil, kindFilter = PostgresArray(kinds ?? [])
        return try conn.query("""
            SELECT extract(epoch FROM min(n.run_at) - now())::float8
            FROM job_tenant_turn tt CROSS JOIN LATERAL (
                SELECT j.run_at FROM job j
                WHERE j.tenant_id = tt.tenant_id AND j.state = 'ready' AND (\(all) OR j.kind = ANY(\(kindFilter)::text[]))
                ORDER BY j.run_at LIMIT 1
            ) n
            """, prepared: true).first?.decode(Double?.self, at: 0)
    }

    /// One turn of a runner: completes `outcomes`, then claims up to `limit` jobs (none when 0), in one
    /// transaction — one commit per turn instead of two, and the claim sees the room the completions
    /// freed under the per-tenant cap.
    ///
    /// The commit is asynchronous (`synchronous_commit = off`, for this transaction only): if the
    /// server crashes right after, a lost claim leaves its jobs ready and a lost completion runs its
    /// jobs again, both already possible in at-least-once delivery. Imported mail is never written
    /// here; its transactions stay durable.
    public static func jobCompleteAndClaim(_ conn: PostgresConnection, _ outcomes: [JobOutcome], owner: String, limit: Int,
                                           perTenantCap: Int, lease: Duration, kinds: [String]? = nil) throws -> (completed: Int, claimed: [Job]) {
        // One round trip for the whole turn (pipeline mode): the statements and their order are those
        // sent one by one before, each waiting for the previous answer.
        var statements: [(sql: SQL, prepared: Bool)] = [("BEGIN", false), ("SET LOCAL synchronous_commit = off", false)]
        if !outcomes.isEmpty { statements.append((jobCompleteManySQL(outcomes), true)) }
        if limit > 0 {
            statements.append((jobClaimSQL(owner: owner, limit: limit, perTenantCap: perTenantCap, lease: lease, kinds: kinds), true))
        }
        statements.append(("COMMIT", false))
        do {
            let results = try conn.pipeline(statements)
            let completed = outcomes.isEmpty ? 0 : results[2].affectedRows
            let claimed = limit > 0 ? try results[outcomes.isEmpty ? 2 : 3].map(Job.init(claimed:)) : []
            return (completed, claimed)
        } catch {
            if !conn.isBroken { try? conn.executeScript("ROLLBACK") }
            throw error
        }
    }

    /// Completes a batch in one statement. A periodic job re-arms (after its interval, or at once when
    /// a run was requested meanwhile); a failed periodic job retries at its backoff but never dies.
    /// Rows whose lease epoch moved on (rescued and re-claimed elsewhere) are left alone.
    @discardableResult
    public static func jobCompleteMany(_ conn: PostgresConnection, _ outcomes: [JobOutcome]) throws -> Int {
        guard !outcomes.isEmpty else { return 0 }
        return try conn.execute(jobCompleteManySQL(outcomes), prepared: true)
    }

    /// The statement `jobCompleteMany` runs: `$1` ids, `$2` lease epochs, `$3` results, `$4` retry
    /// times, `$5` errors, each an array with one element per outcome.
    public static func jobCompleteManySQL(_ outcomes: [JobOutcome]) -> SQL {
        """
            UPDATE job j SET
                state = CASE
                    WHEN x.result = 'done' AND j.repeat_every IS NULL THEN 'done'
                    WHEN x.result = 'failed' AND j.repeat_every IS NULL THEN 'failed'
                    ELSE 'ready' END,
                run_at = CASE
                    WHEN x.result = 'done' AND j.repeat_every IS NOT NULL THEN
                        CASE WHEN j.rerun THEN now() ELSE now() + j.repeat_every END
                    WHEN x.result IN ('retry', 'failed', 'postponed') THEN coalesce(x.retry_at, now() + coalesce(j.repeat_every, interval '1 minute'))
                    ELSE j.run_at END,
                attempt = CASE WHEN j.repeat_every IS NOT NULL AND x.result = 'done' THEN 0
                               WHEN x.result = 'postponed' THEN greatest(j.attempt - 1, 0) ELSE j.attempt END,
                last_error = CASE WHEN x.result = 'done' THEN NULL ELSE x.error END,
                finished_at = now(), lease_owner = NULL, lease_until = NULL, rerun = false
            FROM unnest(\(PostgresArray(outcomes.map(\.id)))::bigint[], \(PostgresArray(outcomes.map(\.leaseEpoch)))::bigint[],
                        \(PostgresArray(outcomes.map(\.result.rawValue)))::text[],
                        \(PostgresArray(outcomes.map(\.retryAt)))::timestamptz[],
                        \(PostgresArray(outcomes.map(\.error)))::text[]) AS x(id, epoch, result, retry_at, error)
            WHERE j.id = x.id AND j.lease_epoch = x.epoch AND j.state = 'running'
            """
    }

    /// Extends the leases of jobs this owner is still running (one statement per heartbeat).
    @discardableResult
    public static func jobHeartbeat(_ conn: PostgresConnection, owner: String, ids: [Int64], lease: Duration) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try conn.execute("""
            UPDATE job SET lease_until = now() + make_interval(secs => \(Double(lease.components.seconds)))
            WHERE id = ANY(\(PostgresArray(ids))::bigint[]) AND lease_owner = \(owner) AND state = 'running'
            """)
    }

    /// Returns jobs whose lease expired (their replica died or hung) to the queue; a one-off job out
    /// of attempts fails with the reason. Returns how many were rescued.
    @discardableResult
    public static func jobRescueExpired(_ conn: PostgresConnection) throws -> Int {
        try jobRescueExpiredByTenant(conn).reduce(0) { $0 + $1.count }
    }

    /// `jobRescueExpired`, reporting how many jobs each tenant got back (for per-tenant log lines).
    @discardableResult
    public static func jobRescueExpiredByTenant(_ conn: PostgresConnection) throws -> [(tenant: String, count: Int)] {
        try conn.query("""
            WITH rescued AS (
                UPDATE job SET
                    state = CASE WHEN repeat_every IS NULL AND attempt >= max_attempts THEN 'failed' ELSE 'ready' END,
                    last_error = 'lease expired: worker ' || lease_owner || ' stopped renewing it',
                    run_at = now(), lease_owner = NULL, lease_until = NULL,
                    finished_at = CASE WHEN repeat_every IS NULL AND attempt >= max_attempts THEN now() END
                WHERE state = 'running' AND lease_until < now()
                RETURNING tenant_id
            )
            SELECT t.slug, count(*) FROM rescued r JOIN tenant t ON t.id = r.tenant_id GROUP BY t.slug ORDER BY t.slug
            """).map { (tenant: try $0.decode(String.self, at: 0), count: try $0.decode(Int.self, at: 1)) }
    }

    /// Gives back jobs this owner claimed but will not run (graceful shutdown): ready again at once,
    /// the attempt not counted.
    @discardableResult
    public static func jobHandBack(_ conn: PostgresConnection, owner: String, ids: [Int64]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try conn.execute("""
            UPDATE job SET state = 'ready', lease_owner = NULL, lease_until = NULL, run_at = now(),
                   attempt = greatest(attempt - 1, 0)
            WHERE id = ANY(\(PostgresArray(ids))::bigint[]) AND lease_owner = \(owner) AND state = 'running'
            """)
    }

    /// Deletes finished one-off jobs older than `retention`, at most `limit` per call.
    @discardableResult
    public static func jobPruneFinished(_ conn: PostgresConnection, retention: Duration, limit: Int = 10_000) throws -> Int {
        try conn.execute("""
            DELETE FROM job WHERE id IN (
                SELECT id FROM job WHERE state = 'done' AND finished_at < now() - make_interval(secs => \(Double(retention.components.seconds)))
                LIMIT \(limit))
            """)
    }

    /// Seconds until the earliest ready job is due (0 when one is due now; nil when none is ready).
    public static func jobNextDueIn(_ conn: PostgresConnection) throws -> Double? {
        try conn.query("SELECT greatest(0, extract(epoch FROM min(run_at) - now()))::float8 FROM job WHERE state = 'ready'")
            .one().decode(Double?.self, at: 0)
    }
}

extension Job {
    /// A job from a row of `JobQueries.jobClaimSQL`'s result.
    init(claimed row: PostgresRow) throws {
        self.init(id: try row.decode(at: 0), tenantID: try row.decode(at: 1), kind: try row.decode(at: 2), payload: try row.decode(at: 3),
                  attempt: try row.decode(at: 4), maxAttempts: try row.decode(at: 5), leaseEpoch: try row.decode(at: 6),
                  isPeriodic: try row.decode(at: 7), waited: try row.decode(at: 8))
    }
}
