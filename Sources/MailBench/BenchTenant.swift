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
        let yaml = """
            tenant: \(slug)
            teams: [{name: support, positions: [agent, lead]}]
            users:
              - {username: alice, name: Alice Archer, emails: [alice@acme.test], teams: {support: agent}}
              - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: {support: agent}}
            records:
              accounts: [{name: Initech, emails: [info@initech.test]}]
              contacts: [{name: Peter Gibbons, emails: [peter@initech.test], account: Initech}]
            group_accounts:
              - name: Bench
                address: \(mailbox.address)
                imap:
                  host: \(server.host)
                  port: \(server.imapPort)
                  security: starttls
                  verify_tls: false
                  username: \(mailbox.address)
                  password: env:BENCH_PW
                teams: [support]

            """
        let manifest = try ManifestParser.parse(yaml, environment: ["BENCH_PW": mailbox.password])
        return try await ManifestApplier(secrets: secrets).apply(manifest, to: pool).tenantID
    }

    func account(of tenant: TenantID) async throws -> MailAccountRecord {
        let accounts = try await pool.transaction(tenant: tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
        guard accounts.count == 1, let account = accounts.first else {
            throw BenchFailure("expected one pollable account, found \(accounts.count)")
        }
        return account
    }
}
