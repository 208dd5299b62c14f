import Foundation
import MailCore

/// The per-folder view behind `mailroom status`: sync cursor, schedule, backlog and errors of every
/// folder of a tenant. Runs inside a transaction scoped to the tenant (the account, folder and
/// failure tables force row-level security); the folder's poll job is found by its unique key.
public enum FolderStatusQueries {
    public struct FolderStatus: Sendable, Equatable {
        public var accountID: AccountID
        public var account: String
        public var folderID: FolderID?
        /// Nil for an account with no folder yet.
        public var folder: String?
        /// The folder, its account and (for a personal account) its owner are all active.
        public var active: Bool
        /// End of the last poll, successful or not.
        public var lastPollAt: Date?
        public var lastSuccessAt: Date?
        /// When the folder's poll job is due next; nil when it has no live poll job.
        public var nextRunAt: Date?
        /// The poll job's state: `ready`, `running`, or nil without a live poll job.
        public var pollState: String?
        /// Seconds the poll is overdue (now - run_at while due and not yet claimed), else 0.
        public var lagSeconds: Double
        /// The server's UIDNEXT as of the last successful EXAMINE; nil before the first one.
        public var uidNext: Int64?
        public var lastUID: Int64
        /// Messages whose import failed and will be retried / gave up.
        public var failuresRetrying: Int
        public var failuresFailed: Int
        public var messagesImported: Int64
        public var consecutiveFailures: Int
        /// The folder's error, else the account's (a login failure is recorded on both).
        public var lastError: String?
        public var lastErrorAt: Date?
        /// Messages a global or account filter skipped (never imported, counted so nothing vanishes silently).
        public var messagesSkipped: Int64 = 0
        /// `group`, or `personal` with the owner's username.
        public var kind: String = "group"
        public var owner: String?

        /// Messages still to import: UIDs on the server above the cursor (an upper bound: expunged
        /// UIDs leave gaps) plus failures waiting for a retry. Nil while the server's UIDNEXT is unknown.
        public var backlog: Int? {
            guard let uidNext else { return nil }
            return max(0, Int(uidNext - 1 - lastUID)) + failuresRetrying
        }
    }

    /// Every account of the tenant with each of its folders (one row per account without folders),
    /// ordered by account then folder name.
    public static func folderStatusList(_ conn: PostgresConnection, tenant: TenantID) throws -> [FolderStatus] {
        try conn.query("""
            SELECT a.id, a.name, f.id, f.name,
                   coalesce(f.is_active, false) AND a.is_active AND (a.owner_user_id IS NULL OR coalesce(u.is_active, false)),
                   f.last_poll_at, f.last_success_at, j.run_at, j.state,
                   CASE WHEN j.state = 'ready' AND j.run_at <= now() THEN extract(epoch FROM now() - j.run_at) ELSE 0 END::float8,
                   f.uidnext, coalesce(f.last_uid, 0),
                   (SELECT count(*) FROM import_failure i WHERE i.tenant_id = f.tenant_id AND i.folder_id = f.id AND i.state = 'retrying'),
                   (SELECT count(*) FROM import_failure i WHERE i.tenant_id = f.tenant_id AND i.folder_id = f.id AND i.state = 'failed'),
                   coalesce(f.messages_imported, 0), coalesce(f.consecutive_failures, 0),
                   coalesce(f.last_error, a.last_error),
                   CASE WHEN f.last_error IS NOT NULL THEN f.last_error_at ELSE a.last_error_at END,
                   coalesce(f.messages_skipped, 0), a.kind, u.username
            FROM mail_account a
            LEFT JOIN app_user u ON u.tenant_id = a.tenant_id AND u.id = a.owner_user_id
            LEFT JOIN mail_folder f ON f.tenant_id = a.tenant_id AND f.account_id = a.id
            LEFT JOIN job j ON j.tenant_id = a.tenant_id AND j.unique_key = 'poll:folder:' || f.id
                           AND j.state IN ('ready', 'running')
            WHERE a.tenant_id = \(tenant)
            ORDER BY a.name, a.id, f.name
            """).map {
            FolderStatus(accountID: try $0.decode(at: 0), account: try $0.decode(at: 1), folderID: try $0.decode(at: 2),
                         folder: try $0.decode(at: 3), active: try $0.decode(at: 4), lastPollAt: try $0.decode(at: 5),
                         lastSuccessAt: try $0.decode(at: 6), nextRunAt: try $0.decode(at: 7), pollState: try $0.decode(at: 8),
                         lagSeconds: try $0.decode(at: 9), uidNext: try $0.decode(at: 10), lastUID: try $0.decode(at: 11),
                         failuresRetrying: try $0.decode(at: 12), failuresFailed: try $0.decode(at: 13),
                         messagesImported: try $0.decode(at: 14), consecutiveFailures: try $0.decode(at: 15),
                         lastError: try $0.decode(at: 16), lastErrorAt: try $0.decode(at: 17),
                         messagesSkipped: try $0.decode(at: 18), kind: try $0.decode(at: 19), owner: try $0.decode(at: 20))
        }
    }
}
