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

    typealias Account = TestGroupAccount

    /// Provisions a tenant with users alice and bob in team support and the given group accounts.
    func tenant(_ prefix: String, accounts: [Account]) async throws -> (TenantID, String) {
        let slug = TestDatabase.uniqueSlug(prefix)
        let tenant = try await TestTenant.provision(slug: slug, accounts: accounts, server: server,
                                                    secrets: SecretBox(key: key), pool: pool)
        return (tenant, slug)
    }

    func runner(maxAttempts: Int = 3, retryDelay: Duration = .milliseconds(1)) -> ImportRunner {
        var settings = ImportSettings()
        settings.outboundPolicy = server.outboundPolicy
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

    @discardableResult
    func query<T: Sendable>(_ tenant: TenantID, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.transaction(tenant: tenant, body)
    }

    func count(_ tenant: TenantID, _ sql: String) async throws -> Int {
        try await query(tenant) { try $0.query(SQL(unsafeSQL: sql)).one().decode(Int.self, at: 0) }
    }
}
