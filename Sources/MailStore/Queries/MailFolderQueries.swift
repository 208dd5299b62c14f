import Foundation
import MailCore

/// Queries on `mail_folder`, the sync cursor of each monitored IMAP folder.
public enum MailFolderQueries {
    static let columns = "id, account_id, name, target, uidvalidity, last_uid, uidnext, last_poll_at"

    static func decode(_ row: PostgresRow, tenant: TenantID) throws -> MailFolderRecord {
        MailFolderRecord(
            tenantID: tenant, id: try row.decode(at: 0), accountID: try row.decode(at: 1), name: try row.decode(at: 2),
            target: try row.decode(at: 3), uidValidity: try row.decode(at: 4), lastUID: try row.decode(at: 5),
            uidNext: try row.decode(at: 6), lastPollAt: try row.decode(at: 7))
    }

    public static func mailFolderListActive(_ conn: PostgresConnection, tenant: TenantID, account: AccountID) throws -> [MailFolderRecord] {
        try conn.query(SQL(unsafeSQL: "SELECT \(columns) FROM mail_folder WHERE tenant_id = $1 AND account_id = $2 AND is_active ORDER BY id",
                           binds: [tenant.postgresBind, account.postgresBind])).map { try decode($0, tenant: tenant) }
    }

    /// Locks the folder row for this transaction and returns its current cursor. Two importers of one
    /// folder serialise here, so the cursor check-and-move is never lost.
    public static func mailFolderLockCursor(_ conn: PostgresConnection, tenant: TenantID, id: FolderID) throws -> MailFolderRecord {
        try decode(try conn.query(SQL(unsafeSQL: "SELECT \(columns) FROM mail_folder WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                                      binds: [tenant.postgresBind, id.postgresBind])).one(), tenant: tenant)
    }

    /// Moves the cursor forward (never back) within the same UIDVALIDITY epoch and counts imports.
    public static func mailFolderAdvance(_ conn: PostgresConnection, tenant: TenantID, id: FolderID,
                                         uidValidity: UIDValidity, lastUID: UID, imported: Int, skipped: Int) throws {
        try conn.execute("""
            UPDATE mail_folder SET last_uid = greatest(last_uid, \(lastUID)),
                   messages_imported = messages_imported + \(imported), messages_skipped = messages_skipped + \(skipped)
            WHERE tenant_id = \(tenant) AND id = \(id) AND uidvalidity = \(uidValidity)
            """, prepared: true)
    }

    /// Starts a new UIDVALIDITY epoch: every UID stored before is meaningless (RFC 3501 §2.3.1.1), so
    /// the cursor restarts at 0. Message-ID dedupe keeps the re-listing from duplicating anything.
    /// The change is recorded as a named event.
    public static func mailFolderStartEpoch(_ conn: PostgresConnection, tenant: TenantID, id: FolderID,
                                            previous: UIDValidity?, new: UIDValidity) throws {
        try conn.execute("UPDATE mail_folder SET uidvalidity = \(new), last_uid = 0 WHERE tenant_id = \(tenant) AND id = \(id)")
        if let previous {
            try conn.execute("""
                INSERT INTO mail_sync_event (tenant_id, folder_id, kind, detail)
                VALUES (\(tenant), \(id), 'uidvalidity_changed',
                        jsonb_build_object('previous', \(previous)::bigint, 'new', \(new)::bigint))
                """)
        }
    }

    public static func mailFolderPollStarted(_ conn: PostgresConnection, tenant: TenantID, id: FolderID) throws {
        try conn.execute("UPDATE mail_folder SET last_poll_started_at = now() WHERE tenant_id = \(tenant) AND id = \(id)")
    }

    /// Records the end of a poll: success clears the error; failure keeps the old cursor and counts.
    public static func mailFolderPollFinished(_ conn: PostgresConnection, tenant: TenantID, id: FolderID,
                                              uidNext: UID?, error: String?) throws {
        try conn.execute("""
            UPDATE mail_folder SET last_poll_at = now(),
                   uidnext = coalesce(\(uidNext)::bigint, uidnext),
                   last_success_at = CASE WHEN \(error)::text IS NULL THEN now() ELSE last_success_at END,
                   last_error = \(error), last_error_at = CASE WHEN \(error)::text IS NULL THEN last_error_at ELSE now() END,
                   consecutive_failures = CASE WHEN \(error)::text IS NULL THEN 0 ELSE consecutive_failures + 1 END,
                   stalled_at = CASE WHEN \(error)::text IS NULL THEN NULL ELSE stalled_at END
            WHERE tenant_id = \(tenant) AND id = \(id)
            """)
    }

    /// A folder that stopped importing, as `folder.stalled` reports it (docs/events/folder.stalled.json).
    public struct StalledFolder: Sendable, Equatable {
        public var id: FolderID
        public var accountID: AccountID
        public var name: String
        public var lastSuccessAt: Date?
        public var pollIntervalSeconds: Int
        /// How long past its last success (or creation) the folder was allowed before it counted as stalled.
        public var stalledAfterSeconds: Int
    }

    /// Marks, and returns, the folders of the tenant that are stalled and not yet reported: active
    /// folders of active, pollable accounts (an IMAP server, a personal account's owner active) whose
    /// last successful poll (or, never polled, their creation) is older than `now` minus the account's
    /// poll interval plus `greatest(5 minutes, 3 × poll interval)`. Marking sets `stalled_at`, so a
    /// folder is returned once per stall; the folder's next successful poll clears it
    /// (`mailFolderPollFinished`). The caller writes the events in the same transaction.
    public static func mailFolderMarkStalled(_ conn: PostgresConnection, tenant: TenantID, now: Date) throws -> [StalledFolder] {
        try conn.query("""
            WITH due AS (
                SELECT f.id, a.poll_interval, a.poll_interval + greatest(interval '5 minutes', 3 * a.poll_interval) AS bound
                FROM mail_folder f JOIN mail_account a ON a.tenant_id = f.tenant_id AND a.id = f.account_id
                WHERE f.tenant_id = \(tenant) AND f.is_active AND f.stalled_at IS NULL
                  AND a.is_active AND a.imap_host IS NOT NULL
                  AND (a.owner_user_id IS NULL OR EXISTS (
                        SELECT 1 FROM app_user u WHERE u.tenant_id = a.tenant_id AND u.id = a.owner_user_id AND u.is_active))
                  AND coalesce(f.last_success_at, f.created_at) < \(now)::timestamptz
                      - (a.poll_interval + greatest(interval '5 minutes', 3 * a.poll_interval))
            )
            UPDATE mail_folder f SET stalled_at = \(now)
            FROM due WHERE f.tenant_id = \(tenant) AND f.id = due.id
            RETURNING f.id, f.account_id, f.name, f.last_success_at,
                      extract(epoch FROM due.poll_interval)::bigint, extract(epoch FROM due.bound)::bigint
            """).map { row in
            StalledFolder(id: try row.decode(at: 0), accountID: try row.decode(at: 1), name: try row.decode(at: 2),
                          lastSuccessAt: try row.decode(at: 3), pollIntervalSeconds: Int(try row.decode(Int64.self, at: 4)),
                          stalledAfterSeconds: Int(try row.decode(Int64.self, at: 5)))
        }
    }
}
