import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// A database of its own with one tenant (more on request), a `JobRunner` for `webhook` jobs woken by
/// the real `NotificationListener`, and helpers to add endpoints pointing at test receivers and to
/// write events. The runner claims every ready job of its database, hence the database per test.
struct WebhookFixture: Sendable {
    let url: String
    let name: String
    let pool: PostgresPool
    let tenant: TenantID
    let secrets: SecretBox
    let running: Task<Void, Never>
    let listening: Task<Void, Never>

    /// Receivers on loopback over plain HTTP, allowed the way an operator would (settings, no special case).
    static let policy = try! OutboundPolicy.fromEnvironment([
        OutboundPolicy.allowedHostsVariable: "127.0.0.1", OutboundPolicy.insecureHostsVariable: "127.0.0.1",
    ])

    static var settings: WebhookDeliverySettings {
        var s = WebhookDeliverySettings()
        s.outboundPolicy = policy
        s.connectTimeout = .seconds(2)
        s.totalTimeout = .seconds(4)
        s.maxResponseBytes = 16 * 1024
        s.backoff = .init(base: 0.2, cap: 1)
        // Each failure counted, as the tests below expect; WebhookQuickRetryTests shows the quick retries.
        s.quickRetryDelays = []
        return s
    }

    static func make(_ prefix: String, logger given: Logger? = nil, settings: WebhookDeliverySettings = settings) async throws -> WebhookFixture {
        let (url, name, pool) = try await TestDatabase.createMigratedDatabase(applicationName: "\(prefix)-test")
        var logger = given ?? Logger(label: "test.\(prefix)")
        if given == nil { logger.logLevel = .critical }
        let (tenant, _) = try await TestDatabase.makeTenant(prefix, in: pool)
        let secrets = SecretBox(key: SecretKey.random())
        let handler = WebhookJobHandler(pool: pool, secrets: secrets, settings: settings, tenants: TenantDirectory(pool: pool),
                                        logger: logger)
        var config = JobRunnerConfiguration()
        config.kinds = ["webhook"]
        config.slots = 6
        config.idleWait = .milliseconds(200)
        let runner = JobRunner(pool: pool, handlers: ["webhook": handler], config: config, logger: logger)
        let listener = NotificationListener(conninfo: url, logger: logger) { _ in runner.nudge() }
        let listening = Task { await listener.run() }
        let running = Task { await runner.run() }
        return WebhookFixture(url: url, name: name, pool: pool, tenant: tenant, secrets: secrets, running: running, listening: listening)
    }

    /// Runs `body` with a fresh fixture and tears it down afterwards, also when `body` throws.
    static func run(_ prefix: String, logger: Logger? = nil, settings: WebhookDeliverySettings = settings,
                    _ body: (WebhookFixture) async throws -> Void) async throws {
        let f = try await make(prefix, logger: logger, settings: settings)
        do {
            try await body(f)
        } catch {
            await f.tearDown()
            throw error
        }
        await f.tearDown()
    }

    func makeTenant(_ prefix: String) async throws -> TenantID {
        try await TestDatabase.makeTenant(prefix, in: pool).0
    }

    /// Adds an endpoint the way `mailroom apply` does (row, then its secret sealed against the row).
    @discardableResult
    func addEndpoint(_ name: String, url: String, types: [String] = [], window: Double = 3 * 86_400, secret: String = "whsec-test",
                     batchSize: Int = 1, tenant: TenantID? = nil) async throws -> Int64 {
        try await TestWebhookEndpoint.add(pool, tenant: tenant ?? self.tenant, name: name, url: url, secret: Secret(secret),
                                          box: secrets, types: types, retryWindow: window, batchSize: batchSize)
    }

    /// Writes `count` events of `type` in one transaction, payload `{"n": first…}`.
    func emit(_ count: Int, type: String = "test.happened", first: Int = 1, tenant: TenantID? = nil) async throws {
        let t = tenant ?? self.tenant
        try await pool.transaction(tenant: t) { conn in
            for n in first..<(first + count) { try EventQueries.emit(conn, tenant: t, type: type, payload: "{\"n\": \(n)}") }
        }
    }

    func endpoint(_ id: Int64, tenant: TenantID? = nil) async throws -> WebhookEndpointRecord? {
        let t = tenant ?? self.tenant
        return try await pool.transaction(tenant: t) { try WebhookQueries.webhookGet($0, tenant: t, id: id) }
    }

    /// The endpoint's last error (nil when none), read as the CRM would see it.
    func lastError(_ id: Int64) async throws -> String? {
        let t = tenant
        return try await pool.transaction(tenant: t) { conn in
            try conn.query("SELECT last_error FROM webhook_endpoint WHERE tenant_id = \(t) AND id = \(id)").one().decode(at: 0)
        }
    }

    /// The sequence numbers the receiver acknowledged with a 2xx, in arrival order.
    static func acknowledged(_ receiver: TestWebhookReceiver) async throws -> [Int64] {
        try await receiver.requests().filter { (200..<300).contains($0.status) }.map { try seq(of: $0) }
    }

    static func seq(of request: TestWebhookReceiver.Request) throws -> Int64 {
        let json = try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any]
        return (json?["seq"] as? NSNumber)?.int64Value ?? -1
    }

    func tearDown() async {
        running.cancel()
        await running.value
        listening.cancel()
        await listening.value
        pool.close()
        try? await TestDatabase.dropDatabase(name)
    }
}
