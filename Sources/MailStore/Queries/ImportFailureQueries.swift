import Foundation
import MailCore

/// Queries on `import_failure`: messages that could not be fetched, parsed or stored.
public enum ImportFailureQueries {
    public enum Stage: String, Sendable { case fetch, parse, store }

    public struct Failure: Sendable, Equatable {
        public var uid: UID
        public var attempts: Int
    }

    /// Records a failed attempt. Retries back off exponentially (1 min, 2, 4 … capped at 6 h); after
    /// `maxAttempts` the failure is final and stays visible as `failed`.
    public static func importFailureRecord(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, folder: FolderID,
                                           uidValidity: UIDValidity, uid: UID, stage: Stage, reason: String,
                                           maxAttempts: Int, baseDelay: Duration = .seconds(60)) throws {
        let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
        try conn.execute("""
            INSERT INTO import_failure AS f (tenant_id, account_id, folder_id, uidvalidity, uid, stage, reason, attempts, state, next_attempt_at)
            VALUES (\(tenant), \(account), \(folder), \(uidValidity), \(uid), \(stage.rawValue), \(reason), 1,
                    CASE WHEN \(maxAttempts) <= 1 THEN 'failed' ELSE 'retrying' END,
                    CASE WHEN \(maxAttempts) <= 1 THEN NULL ELSE now() + make_interval(secs => \(base)) END)
            ON CONFLICT (tenant_id, folder_id, uidvalidity, uid) DO UPDATE SET
                attempts = f.attempts + 1, stage = excluded.stage, reason = excluded.reason, last_failed_at = now(),
                state = CASE WHEN f.attempts + 1 >= \(maxAttempts) THEN 'failed' ELSE 'retrying' END,
                next_attempt_at = CASE WHEN f.attempts + 1 >= \(maxAttempts) THEN NULL
                                  ELSE now() + make_interval(secs => least(\(base) * power(2, f.attempts), 21600)) END
            """)
    }

    /// Failures of this folder and epoch whose retry is due.
    public static func importFailureListDue(_ conn: PostgresConnection, tenant: TenantID, folder: FolderID,
                                            uidValidity: UIDValidity, now: Date) throws -> [Failure] {
        try conn.query("""
            SELECT uid, attempts FROM import_failure
            WHERE tenant_id = \(tenant) AND folder_id = \(folder) AND uidvalidity = \(uidValidity)
              AND state = 'retrying' AND next_attempt_at <= \(now)
            ORDER BY uid
            """).map { Failure(uid: try $0.decode(at: 0), attempts: try $0.decode(at: 1)) }
    }

    public static func importFailureResolve(_ conn: PostgresConnection, tenant: TenantID, folder: FolderID,
                                            uidValidity: UIDValidity, uid: UID, email: EmailID?) throws {
        try conn.execute("""
            UPDATE import_failure SET state = 'resolved', next_attempt_at = NULL, resolved_email_id = \(email)
            WHERE tenant_id = \(tenant) AND folder_id = \(folder) AND uidvalidity = \(uidValidity) AND uid = \(uid)
            """)
    }
}
