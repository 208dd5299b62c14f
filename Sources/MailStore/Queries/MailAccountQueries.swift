import Foundation
import MailCore

/// Queries on `mail_account`. Call inside a transaction scoped to the tenant.
public enum MailAccountQueries {
    static let columns = """
        id, kind, name, address, owner_user_id, is_active, imap_host, imap_port, imap_security, imap_verify_tls,
        imap_username, imap_secret, fetch_since::text, keep_unread, max_message_size,
        extract(epoch FROM poll_interval)::float8, case_add_all_team_users
        """

    static func decode(_ row: PostgresRow, tenant: TenantID) throws -> MailAccountRecord {
        MailAccountRecord(
            tenantID: tenant, id: try row.decode(at: 0),
            kind: MailAccountRecord.Kind(rawValue: try row.decode(at: 1)) ?? .group,
            name: try row.decode(at: 2), address: try row.decode(at: 3), ownerUserID: try row.decode(at: 4),
            isActive: try row.decode(at: 5), imapHost: try row.decode(at: 6), imapPort: try row.decode(at: 7),
            imapSecurity: try row.decode(at: 8), imapVerifyTLS: try row.decode(at: 9), imapUsername: try row.decode(at: 10),
            imapSecret: try row.decode(at: 11), fetchSince: try row.decode(Date?.self, at: 12),
            keepUnread: try row.decode(at: 13), maxMessageSize: try row.decode(at: 14),
            pollInterval: .seconds(try row.decode(Double.self, at: 15)), addAllTeamUsers: try row.decode(at: 16))
    }

    /// Active accounts with IMAP configured, whose owner (for personal accounts) is active too.
    public static func mailAccountListPollable(_ conn: PostgresConnection, tenant: TenantID) throws -> [MailAccountRecord] {
        try conn.query(SQL(unsafeSQL: """
            SELECT \(columns) FROM mail_account a
            WHERE a.tenant_id = $1 AND a.is_active AND a.imap_host IS NOT NULL
              AND (a.owner_user_id IS NULL OR EXISTS (
                    SELECT 1 FROM app_user u WHERE u.tenant_id = a.tenant_id AND u.id = a.owner_user_id AND u.is_active))
            ORDER BY a.id
            """, binds: [tenant.postgresBind])).map { try decode($0, tenant: tenant) }
    }

    public static func mailAccountGet(_ conn: PostgresConnection, tenant: TenantID, id: AccountID) throws -> MailAccountRecord? {
        try conn.query(SQL(unsafeSQL: "SELECT \(columns) FROM mail_account WHERE tenant_id = $1 AND id = $2",
                           binds: [tenant.postgresBind, id.postgresBind])).first.map { try decode($0, tenant: tenant) }
    }

    /// Records (or clears, with nil) the account's connection-level error, e.g. a failed login.
    public static func mailAccountSetError(_ conn: PostgresConnection, tenant: TenantID, id: AccountID, error: String?) throws {
        try conn.execute("""
            UPDATE mail_account SET last_error = \(error), last_error_at = CASE WHEN \(error) IS NULL THEN last_error_at ELSE now() END
            WHERE tenant_id = \(tenant) AND id = \(id)
              AND last_error IS DISTINCT FROM \(error)
            """)
    }
}
