import Foundation
import MailCore

/// Per-user and per-account filing of imported mail, run after `EmailQueries.emailImportBatch` (or
/// `emailImport`) in the same transaction. Each statement touches only `email_user` rows written by
/// this transaction (`added_at = now()`, the transaction's start time): a user's own later changes
/// to an email that arrives again through another mailbox are never overwritten.
public enum EmailUserQueries {
    /// One user's filter outcome for one email.
    public struct UserFiling: Sendable, Equatable {
        public var emailID: EmailID
        public var userID: UserID
        public var trash: Bool
        public var folder: String?
        public var markRead: Bool
        public var noNotify: Bool
        public init(emailID: EmailID, userID: UserID, trash: Bool, folder: String?, markRead: Bool, noNotify: Bool) {
            self.emailID = emailID
            self.userID = userID
            self.trash = trash
            self.folder = folder
            self.markRead = markRead
            self.noNotify = noNotify
        }
    }

    /// Applies user filters in one statement; rows of users the email did not reach are ignored.
    @discardableResult
    public static func emailUserApplyFilters(_ conn: PostgresConnection, tenant: TenantID, _ filings: [UserFiling]) throws -> Int {
        guard !filings.isEmpty else { return 0 }
        return try conn.execute("""
            UPDATE email_user eu SET in_trash = eu.in_trash OR f.trash, folder = coalesce(f.folder, eu.folder),
                   is_read = eu.is_read OR f.mark_read, notify = eu.notify AND NOT f.no_notify
            FROM unnest(\(PostgresArray(filings.map(\.emailID.rawValue)))::bigint[],
                        \(PostgresArray(filings.map(\.userID.rawValue)))::bigint[],
                        \(PostgresArray(filings.map(\.trash)))::boolean[], \(PostgresArray(filings.map(\.folder)))::text[],
                        \(PostgresArray(filings.map(\.markRead)))::boolean[],
                        \(PostgresArray(filings.map(\.noNotify)))::boolean[]) AS f(email_id, user_id, trash, folder, mark_read, no_notify)
            WHERE eu.tenant_id = \(tenant) AND eu.email_id = f.email_id AND eu.user_id = f.user_id AND eu.added_at = now()
            """)
    }

    /// Files emails of an account in group folders chosen by global or account filters: the account
    /// link records the folder, and the copies this transaction gave the account's users move there
    /// (a sender's own copy stays in 'sent').
    @discardableResult
    public static func emailUserFileInGroupFolders(_ conn: PostgresConnection, tenant: TenantID, account: AccountID,
                                                   _ emails: [(EmailID, String)]) throws -> Int {
        guard !emails.isEmpty else { return 0 }
        let ids = PostgresArray(emails.map(\.0.rawValue)), folders = PostgresArray(emails.map(\.1))
        try conn.execute("""
            UPDATE email_account_link l SET group_folder = f.folder
            FROM unnest(\(ids)::bigint[], \(folders)::text[]) AS f(email_id, folder)
            WHERE l.tenant_id = \(tenant) AND l.account_id = \(account) AND l.email_id = f.email_id
              AND l.group_folder IS DISTINCT FROM f.folder
            """)
        return try conn.execute("""
            UPDATE email_user eu SET folder = f.folder
            FROM unnest(\(ids)::bigint[], \(folders)::text[]) AS f(email_id, folder)
            WHERE eu.tenant_id = \(tenant) AND eu.email_id = f.email_id AND eu.added_at = now()
              AND eu.folder IS DISTINCT FROM 'sent'
            """)
    }

    /// Completes the filing of a personal account's mail: shared with the owner's default team (the
    /// team the owner joined first: lowest team id), and, from a folder mapped to 'sent', filed as the
    /// owner's sent mail (email status 'Sent'; the owner's copy read and in 'sent').
    public static func emailUserFileForOwner(_ conn: PostgresConnection, tenant: TenantID, owner: UserID, target: String,
                                             _ emails: [EmailID]) throws {
        guard !emails.isEmpty else { return }
        let ids = PostgresArray(emails.map(\.rawValue))
        try conn.execute("""
            INSERT INTO email_team (tenant_id, email_id, team_id)
            SELECT \(tenant), e, t.team_id
            FROM unnest(\(ids)::bigint[]) AS e,
                 (SELECT min(team_id) AS team_id FROM team_user WHERE tenant_id = \(tenant) AND user_id = \(owner)) t
            WHERE t.team_id IS NOT NULL
            ON CONFLICT DO NOTHING
            """)
        guard target == "sent" else { return }
        try conn.execute("""
            UPDATE email SET status = 'Sent'
            WHERE tenant_id = \(tenant) AND id = ANY(\(ids)::bigint[]) AND status = 'Archived'
            """)
        try conn.execute("""
            UPDATE email_user SET is_read = true, folder = 'sent'
            WHERE tenant_id = \(tenant) AND user_id = \(owner) AND email_id = ANY(\(ids)::bigint[]) AND added_at = now()
            """)
    }
}
