import Foundation
import MailCore

extension MailAccountQueries {
    /// The SMTP health of an account, for `mailroom status` and the alert decision.
    public struct SMTPHealth: Sendable, Equatable {
        public var accountID: AccountID
        public var name: String
        public var address: String
        public var lastError: String?
        public var lastErrorAt: Date?
        public var alertedAt: Date?
    }

    /// Locks the account row and records an SMTP failure. `decide` gets the time of the last alert
    /// and answers whether to alert now (`SMTPAlertPolicy`); when it does, the alert time is stored in
    /// the same statement, so concurrent senders of one account alert once. Returns whether to alert.
    public static func mailAccountRecordSMTPFailure(_ conn: PostgresConnection, tenant: TenantID, id: AccountID, error: String,
                                                    decide: (Date?) -> Bool) throws -> Bool {
        guard let row = try conn.query("""
            SELECT smtp_alerted_at FROM mail_account WHERE tenant_id = \(tenant) AND id = \(id) FOR UPDATE
            """).first else { return false }
        let alert = decide(try row.decode(Date?.self, at: 0))
        try conn.execute("""
            UPDATE mail_account SET smtp_last_error = \(error), smtp_last_error_at = now(),
                   smtp_alerted_at = CASE WHEN \(alert) THEN now() ELSE smtp_alerted_at END
            WHERE tenant_id = \(tenant) AND id = \(id)
            """)
        return alert
    }

    /// Accounts whose last SMTP attempt failed.
    public static func mailAccountListSMTPFailing(_ conn: PostgresConnection, tenant: TenantID) throws -> [SMTPHealth] {
        try conn.query("""
            SELECT id, name, address, smtp_last_error, smtp_last_error_at, smtp_alerted_at FROM mail_account
            WHERE tenant_id = \(tenant) AND smtp_last_error IS NOT NULL ORDER BY id
            """).map {
            SMTPHealth(accountID: try $0.decode(at: 0), name: try $0.decode(at: 1), address: try $0.decode(at: 2),
                       lastError: try $0.decode(at: 3), lastErrorAt: try $0.decode(at: 4), alertedAt: try $0.decode(at: 5))
        }
    }
}
