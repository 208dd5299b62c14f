import Foundation
import MailCore
import MailStore
import Synchronization

/// Queues outgoing mail through the OAuth accounts for the whole run, as the CRM does
/// (`mailroom_queue_email` as an admin), one email a second on a random account, all to one recipient
/// mailbox outside the run's accounts. The replicas send them with XOAUTH2 through the test Postfix,
/// which checks the token with Dovecot's SASL (and so with the token server's introspection).
///
/// The database is the ledger: a queueing whose commit answer was lost to a PostgreSQL restart is
/// found there or not at all, so the final check reads the `email` rows, not this feeder's counts.
final class OAuthSendFeeder: Sendable {
    struct Counts: Sendable { var queued = 0, refused = 0 }

    let pool: PostgresPool
    let tenant: TenantID
    let sender: Int64
    let accounts: [AccountID]
    let recipient: String
    private let counts = Mutex(Counts())
    private let stopped = Atomic<Bool>(false)

    init(pool: PostgresPool, tenant: TenantID, sender: Int64, accounts: [AccountID], recipient: String) {
        self.pool = pool
        self.tenant = tenant
        self.sender = sender
        self.accounts = accounts
        self.recipient = recipient
    }

    var snapshot: Counts { counts.withLock { $0 } }

    func stop() { stopped.store(true, ordering: .relaxed) }

    func run() async {
        var n = 0
        while !stopped.load(ordering: .relaxed) {
            n += 1
            do {
                _ = try await queue(on: accounts.randomElement()!, subject: "chaos send \(n)")
                counts.withLock { $0.queued += 1 }
            } catch {
                counts.withLock { $0.refused += 1 }  // PostgreSQL restarting
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Queues one email on `account`; returns its id.
    func queue(on account: AccountID, subject: String) async throws -> Int64 {
        let (tenant, sender, recipient) = (self.tenant, self.sender, self.recipient)
        return try await pool.transaction(tenant: tenant) { conn in
            try conn.execute("SELECT set_config('mailroom.user_id', \(String(sender)), true)")
            return try conn.query("""
                SELECT mailroom_queue_email(\(account), \(sender), ARRAY[\(recipient)], p_subject => \(subject),
                                            p_text => 'Sent through an OAuth account during make chaos-oauth.')
                """).one().decode(at: 0)
        }
    }
}
