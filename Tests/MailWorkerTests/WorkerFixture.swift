import Foundation
import Logging
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting
@testable import MailWorker

/// Shared set-up of worker tests: the real database and Dovecot, a tenant provisioned through the
/// real manifest parser and applier, and a runner with test-sized retry delays.
struct WorkerFixture: Sendable {
    let pool: PostgresPool
    let server: TestMailServer
    let key: SecretKey

    static func make() async throws -> WorkerFixture {
        WorkerFixture(pool: try await TestDatabase.pool(), server: try TestMailServer.fromEnvironment(),
                      key: try SecretKey.fromEnvironment())
    }

    struct Account {
        var name: String
        var mailbox: TestMailbox
        /// Extra YAML lines under the account (indented by 4 spaces), e.g. "    keep_unread: true".
        var imapExtra: [String] = []
        var extra: [String] = []
        var port: Int? = nil
        var password: String? = nil
    }

    /// Provisions a tenant with users alice and bob in team support and the given group accounts.
    func tenant(_ prefix: String, accounts: [Account]) async throws -> (TenantID, String) {
        let slug = TestDatabase.uniqueSlug(prefix)
        var env: [String: String] = [:]
        var yaml = """
            tenant: \(slug)
            teams: [{name: support, positions: [agent, lead]}]
            users:
              - {username: alice, name: Alice Archer, emails: [alice@acme.test], teams: {support: agent}}
              - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: {support: agent}}
            records:
              accounts: [{name: Initech, emails: [info@initech.test]}]
              contacts: [{name: Peter Gibbons, emails: [peter@initech.test], account: Initech}]
            group_accounts:

            """
        for (i, a) in accounts.enumerated() {
            env["PW\(i)"] = a.password ?? a.mailbox.password
            yaml += """
                  - name: \(a.name)
                    address: \(a.mailbox.address)
                    imap:
                      host: \(server.host)
                      port: \(a.port ?? server.imapPort)
                      security: starttls
                      verify_tls: false
                      username: \(a.mailbox.address)
                      password: env:PW\(i)
                \(a.imapExtra.map { "      " + $0 }.joined(separator: "\n"))
                    teams: [support]
                \(a.extra.map { "    " + $0 }.joined(separator: "\n"))

                """
        }
        let manifest = try ManifestParser.parse(yaml, environment: env)
        let outcome = try await ManifestApplier(secrets: SecretBox(key: key)).apply(manifest, to: pool)
        return (outcome.tenantID, slug)
    }

    func runner(maxAttempts: Int = 3, retryDelay: Duration = .milliseconds(1)) -> ImportRunner {
        var settings = ImportSettings()
        settings.maxAttempts = maxAttempts
        settings.retryBaseDelay = retryDelay
        settings.connectTimeout = .seconds(30)  // Dovecot delays repeated failed logins (auth penalty)
        settings.ioTimeout = .seconds(20)
        var logger = Logger(label: "test.worker")
        logger.logLevel = .warning
        return ImportRunner(pool: pool, secrets: SecretBox(key: key), settings: settings, logger: logger)
    }

    /// Polls only this tenant's accounts until idle.
    func importAll(_ tenant: TenantID, runner: ImportRunner? = nil) async throws -> [ImportReport] {
        let r = runner ?? self.runner()
        let accounts = try await pool.transaction(tenant: tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
        var out: [ImportReport] = []
        for a in accounts { out += await r.pollAccountUntilIdle(a) }
        return out
    }

    func query<T: Sendable>(_ tenant: TenantID, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.transaction(tenant: tenant, body)
    }

    func count(_ tenant: TenantID, _ sql: String) async throws -> Int {
        try await query(tenant) { try $0.query(SQL(unsafeSQL: sql)).one().decode(Int.self, at: 0) }
    }
}
