import Foundation
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting

/// Provisions a fresh tenant per round the way the worker tests do: the real manifest parser and
/// applier, users alice and bob in team `support`, one group account on the benchmark mailbox.
struct BenchTenant {
    let pool: PostgresPool
    let server: TestMailServer
    let secrets: SecretBox

    func tenant(mailbox: TestMailbox) async throws -> TenantID {
        let slug = TestDatabase.uniqueSlug("bench")
        return try await TestTenant.provision(slug: slug, accounts: [TestGroupAccount(name: "Bench", mailbox: mailbox)],
                                              server: server, secrets: secrets, pool: pool)
    }

    func account(of tenant: TenantID) async throws -> MailAccountRecord {
        let accounts = try await pool.transaction(tenant: tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
        guard accounts.count == 1, let account = accounts.first else {
            throw BenchFailure("expected one pollable account, found \(accounts.count)")
        }
        return account
    }
}
