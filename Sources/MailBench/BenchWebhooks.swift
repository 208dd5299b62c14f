import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
import MailWorker

/// `ingest --with-webhooks`: a local receiver and a webhook runner in the benchmark's process, so the
/// import with events runs while its events are delivered, as in a worker with endpoints configured.
final class BenchWebhooks: Sendable {
    let pool: PostgresPool
    let receiver: TestWebhookReceiver
    let box: SecretBox
    let running: Task<Void, Never>
    let listening: Task<Void, Never>

    private init(pool: PostgresPool, receiver: TestWebhookReceiver, box: SecretBox, running: Task<Void, Never>,
                 listening: Task<Void, Never>) {
        self.pool = pool
        self.receiver = receiver
        self.box = box
        self.running = running
        self.listening = listening
    }

    static func start(pool: PostgresPool, key: SecretKey) async throws -> BenchWebhooks {
        var logger = Logger(label: "bench.webhooks")
        logger.logLevel = .error
        let box = SecretBox(key: key)
        var config = JobRunnerConfiguration()
        config.kinds = ["webhook"]
        var settings = WebhookDeliverySettings()
        settings.outboundPolicy = try OutboundPolicy.fromEnvironment([
            OutboundPolicy.allowedHostsVariable: "127.0.0.1", OutboundPolicy.insecureHostsVariable: "127.0.0.1",
        ])
        let worker = WorkerServices(pool: pool, conninfo: try TestDatabase.url(), secrets: box, runnerConfig: config,
                                    webhookSettings: settings, logger: logger)
        let running = Task { await worker.runner.run() }
        let listening = Task { await worker.listener.run() }
        return BenchWebhooks(pool: pool, receiver: try TestWebhookReceiver(), box: box, running: running, listening: listening)
    }

    func addEndpoint(tenant: TenantID, batchSize: Int) async throws {
        try await TestWebhookEndpoint.add(pool, tenant: tenant, name: "bench", url: receiver.url, secret: Secret("bench-webhook-secret"),
                                          box: box, batchSize: batchSize)
    }

    /// Waits until the tenant's endpoint has delivered its last event (at most 5 minutes).
    func waitDelivered(tenant: TenantID) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let behind = try await pool.transaction(tenant: tenant) { conn in
                try conn.query("SELECT count(*)::int FROM webhook_endpoint WHERE cursor_seq < \(try EventQueries.lastSeq(conn, tenant: tenant))")
                    .one().decode(Int.self, at: 0)
            }
            if behind == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchFailure("the webhook endpoint did not deliver every event within 5 minutes")
    }

    func stop() {
        running.cancel()
        listening.cancel()
        receiver.stop()
    }
}
