import Foundation
import MailCore

/// The poll schedule: one periodic `poll` job per monitored folder, kept in step with the
/// configuration tables. Runs inside a transaction scoped to the tenant (the folder and account
/// tables force row-level security, so reconciliation goes tenant by tenant).
public enum PollScheduleQueries {
    public static func uniqueKey(folder: FolderID) -> String { "poll:folder:\(folder)" }

    public struct Reconciled: Sendable, Equatable {
        public var added = 0, removed = 0, retimed = 0
    }

    /// Adds poll jobs for active folders that have none (due now), removes waiting ones whose folder,
    /// account or owner is no longer active, and follows changed intervals.
    public static func pollScheduleReconcile(_ conn: PostgresConnection, tenant: TenantID) throws -> Reconciled {
        let row = try conn.query("""
            WITH wanted AS (
                SELECT f.id AS folder_id, a.id AS account_id, a.poll_interval, 'poll:folder:' || f.id AS key
                FROM mail_folder f
                JOIN mail_account a ON a.tenant_id = f.tenant_id AND a.id = f.account_id
                LEFT JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.owner_user_id
                JOIN tenant t ON t.id = f.tenant_id
                WHERE f.tenant_id = \(tenant) AND f.is_active AND a.is_active AND t.is_active AND a.imap_host IS NOT NULL
                  AND (a.owner_user_id IS NULL OR u.is_active)
            ), removed AS (
                DELETE FROM job j
                WHERE j.tenant_id = \(tenant) AND j.kind = 'poll' AND j.state = 'ready'
                  AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.key = j.unique_key)
                RETURNING 1
            ), retimed AS (
                UPDATE job j SET repeat_every = w.poll_interval, run_at = least(j.run_at, now() + w.poll_interval)
                FROM wanted w
                WHERE j.tenant_id = \(tenant) AND j.unique_key = w.key AND j.state IN ('ready', 'running')
                  AND j.repeat_every IS DISTINCT FROM w.poll_interval
                RETURNING 1
            ), missing AS (
                SELECT w.* FROM wanted w
                WHERE NOT EXISTS (SELECT 1 FROM job j WHERE j.tenant_id = \(tenant) AND j.unique_key = w.key
                                  AND j.state IN ('ready', 'running'))
            ), added AS (
                SELECT mailroom_enqueue_jobs(\(tenant), 'poll',
                    ARRAY(SELECT jsonb_build_object('folder', folder_id, 'account', account_id) FROM missing ORDER BY key),
                    ARRAY(SELECT key FROM missing ORDER BY key),
                    p_repeat_every => ARRAY(SELECT poll_interval FROM missing ORDER BY key))
            )
            SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM removed), (SELECT count(*) FROM retimed)
            """).one()
        return Reconciled(added: try row.decode(at: 0), removed: try row.decode(at: 1), retimed: try row.decode(at: 2))
    }

    /// Asks for an immediate poll of every active folder of an account (`mailroom poll`). A poll that
    /// is running now runs once more right after.
    public static func pollScheduleNow(_ conn: PostgresConnection, tenant: TenantID, account: AccountID) throws -> Int {
        try conn.query("""
            WITH due AS (
                SELECT f.id AS folder_id, a.id AS account_id, a.poll_interval
                FROM mail_folder f JOIN mail_account a ON a.tenant_id = f.tenant_id AND a.id = f.account_id
                WHERE f.tenant_id = \(tenant) AND a.id = \(account) AND f.is_active AND a.is_active
                  AND (a.owner_user_id IS NULL OR EXISTS (
                        SELECT 1 FROM app_user u WHERE u.tenant_id = a.tenant_id AND u.id = a.owner_user_id AND u.is_active))
            )
            SELECT count(*)::int FROM mailroom_enqueue_jobs(\(tenant), 'poll',
                ARRAY(SELECT jsonb_build_object('folder', folder_id, 'account', account_id) FROM due ORDER BY folder_id),
                ARRAY(SELECT 'poll:folder:' || folder_id FROM due ORDER BY folder_id),
                p_repeat_every => ARRAY(SELECT poll_interval FROM due ORDER BY folder_id))
            """).one().decode(at: 0)
    }

    /// Moves the scheduled poll of `folder` to now (the server announced a change); a poll that is
    /// running now runs once more right after. Wakes the workers. False when the folder has no live
    /// poll job (the scheduler creates it).
    @discardableResult
    public static func pollScheduleFolderNow(_ conn: PostgresConnection, tenant: TenantID, folder: FolderID) throws -> Bool {
        let touched = try conn.query("""
            WITH moved AS (
                UPDATE job SET run_at = least(run_at, now()), rerun = rerun OR state = 'running'
                WHERE tenant_id = \(tenant) AND unique_key = \(uniqueKey(folder: folder)) AND state IN ('ready', 'running')
                RETURNING 1
            )
            SELECT count(*)::int FROM moved
            """).one().decode(Int.self, at: 0)
        try conn.execute("SELECT pg_notify('mailroom_jobs', 'poll')")
        return touched > 0
    }

    /// Records one poll of a folder with its start and end.
    public static func pollLogInsert(_ conn: PostgresConnection, tenant: TenantID, folder: FolderID, worker: String,
                                     trigger: String, startedAt: Date, finishedAt: Date, imported: Int, error: String?) throws {
        try conn.execute("""
            INSERT INTO mail_poll_log (tenant_id, folder_id, worker, trigger, started_at, finished_at, imported, error)
            VALUES (\(tenant), \(folder), \(worker), \(trigger), \(startedAt), \(finishedAt), \(imported), \(error))
            """)
    }
}
