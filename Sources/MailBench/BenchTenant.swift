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

    /// A fresh tenant on `mailbox`; with `events` false, one whose changes write no events
    /// (`tenant.events_enabled`), the baseline of the events' cost.
    func tenant(mailbox: TestMailbox, events: Bool = true) async throws -> TenantID {
        let slug = TestDatabase.uniqueSlug("bench")
        let tenant = try await TestTenant.provision(slug: slug, accounts: [TestGroupAccount(name: "Bench", mailbox: mailbox)],
                                                    server: server, secrets: secrets, pool: pool)
        if !events {
            try await pool.withConnection { try TenantQueries.tenantSetEventsEnabled($0, tenant: tenant, enabled: false) }
        }
        return tenant
    }

    func account(of tenant: TenantID) async throws -> MailAccountRecord {
        let accounts = try await pool.transaction(tenant: tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
        guard accounts.count == 1, let account = accounts.first else {
            throw BenchFailure("expected one pollable account, found \(accounts.count)")
        }
        return account
    }
}
