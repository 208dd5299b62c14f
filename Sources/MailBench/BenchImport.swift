import Logging
import MailCrypto
import MailStore
import MailTesting
import MailWorker

/// What the import benchmarks share: the test servers and database from the environment, and an
/// `ImportRunner` as the worker makes it (default settings, the test environment's outbound policy).
struct BenchImport {
    let server: TestMailServer
    let key: SecretKey
    let pool: PostgresPool
    let runner: ImportRunner

    static func fromEnvironment() async throws -> BenchImport {
        let server = try TestMailServer.fromEnvironment()
        let key = try SecretKey.fromEnvironment()
        let pool = try await TestDatabase.pool()
        var logger = Logger(label: "mailroom.bench")
        logger.logLevel = .warning
        var settings = ImportSettings()
        settings.outboundPolicy = server.outboundPolicy
        let runner = ImportRunner(pool: pool, secrets: SecretBox(key: key), settings: settings, logger: logger)
        return BenchImport(server: server, key: key, pool: pool, runner: runner)
    }

    /// Provisions tenants the way the worker tests do.
    var provisioner: BenchTenant { BenchTenant(pool: pool, server: server, secrets: SecretBox(key: key)) }
}
