import Foundation
import MailCore
import MailStore

/// The sending invariants of a chaos run with OAuth accounts, read from the database and the
/// recipient's Maildir once the replicas are stopped: every email queued through an OAuth account
/// was delivered exactly once (or still waits, visibly), none failed.
enum OAuthSendCheck {
    static func run(pool: PostgresPool, tenant: TenantID, recipientInbox: String, revoked: String?)
        async throws -> (lines: [String], problems: [String]) {
        let rows = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("""
                SELECT e.status, e.message_id, e.send_error, e.send_attempts, a.address
                FROM email e JOIN mail_account a ON a.tenant_id = e.tenant_id AND a.id = e.send_account_id
                WHERE e.queued_at IS NOT NULL
                """).map { row -> (status: String, messageID: String, error: String?, attempts: Int, account: String) in
                (try row.decode(at: 0), try row.decode(at: 1), try row.decode(at: 2), try row.decode(at: 3), try row.decode(at: 4))
            }
        }
        let delivered = MaildirScanner.messageIDCounts(in: recipientInbox)
        var byStatus: [String: Int] = [:]
        var once = 0, missing = 0, duplicated = 0, waiting = 0, authErrors = 0, retried = 0
        var failures: [String] = []
        for r in rows {
            byStatus[r.status, default: 0] += 1
            if r.attempts > 1 { retried += 1 }
            let id = r.messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
            switch r.status {
            case "Sent":
                switch delivered[id] ?? 0 {
                case 0: missing += 1
                case 1: once += 1
                default: duplicated += 1
                }
            case "Sending":
                if (r.error ?? "").contains("waiting for a new login") { waiting += 1 }
            default:
                failures.append("\(r.account): \(r.error ?? r.status)")
            }
            // A send refused on its login, as recorded on the email (the revoked account's are injected).
            if r.account != revoked, let e = r.error?.lowercased(), e.contains("auth") || e.contains("oauth") { authErrors += 1 }
        }
        let stillSending = byStatus["Sending", default: 0]
        let lines = [
            "-- OAuth sends (XOAUTH2 through Postfix and Dovecot SASL)",
            "emails queued                      \(rows.count) (\(byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))",
            "delivered exactly once             \(once); missing \(missing); more than once \(duplicated)",
            "sent after more than one attempt   \(retried)",
            "still waiting, visibly             \(waiting) of \(stillSending) still Sending",
            "sends refused on their login       \(authErrors) (not counting the revoked account)",
        ]
        var problems: [String] = []
        if missing > 0 { problems.append("\(missing) email(s) marked Sent never reached the recipient") }
        if duplicated > 0 { problems.append("\(duplicated) email(s) delivered more than once") }
        if stillSending > waiting { problems.append("\(stillSending - waiting) email(s) still Sending without saying why") }
        if !failures.isEmpty { problems.append("\(failures.count) email(s) failed: \(failures.prefix(3).joined(separator: "; "))") }
        if authErrors > 0 { problems.append("\(authErrors) send(s) refused on their login") }
        return (lines, problems)
    }
}
