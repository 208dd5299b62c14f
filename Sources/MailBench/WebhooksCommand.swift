import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailIO
import MailStore
import MailTesting
import MailTransport
import MailWorker

/// `mailroom-bench webhooks`: webhook deliveries per second by one replica's job runner to local
/// receivers (`scripts/lib/webhook_receiver.py`, one per endpoint), beside a bare loop POSTing the
/// same bodies over one reused libcurl connection per receiver, in the same run; and the latency
/// from an event's commit to the receiver's arrival.
///
/// Setup (untimed): a fresh database, one tenant, `--endpoints` endpoints each with its receiver,
/// a `JobRunner` (kind `webhook`, `--slots` slots) woken by the `NotificationListener`.
/// - throughput: N events written in one transaction; timed from its commit until every endpoint's
///   cursor reached the last one (database polled every 5 ms).
/// - floor: the same N bodies, signed, POSTed by one thread per receiver over one connection each.
/// - latency: `--latency-events` events, one transaction each, every `--latency-gap-ms`; each
///   event's commit (wall clock after COMMIT returned) to its arrival at the receiver (its clock, the
///   same machine's), p50 and p95 over every endpoint.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Webhook deliveries/s of one replica to local receivers beside a bare libcurl loop, and commit-to-receiver latency.")

    @Option(help: "Events per throughput round.") var events = 500
    @Option(help: "Endpoints (each with its own receiver).") var endpoints = 2
    @Option(help: "Job slots of the runner.") var slots = 4
    @Option(help: "Events for the latency run.") var latencyEvents = 100
    @Option(help: "Milliseconds between latency events.") var latencyGapMs = 20

    func validate() throws {
        guard events > 0, endpoints > 0, slots > 0, latencyEvents > 0, latencyGapMs >= 0 else {
            throw ValidationError("counts must be positive")
        }
    }

    func run() async throws {
        var logger = Logger(label: "bench.webhooks")
        logger.logLevel = .error
        let (url, dbName, pool) = try await TestDatabase.createMigratedDatabase(connections: 6, applicationName: "mailroom-bench")
        let receivers = try (0..<endpoints).map { _ in try TestWebhookReceiver() }
        var failure: (any Error)?
        do {
            try await measure(url: url, pool: pool, receivers: receivers, logger: logger)
        } catch {
            failure = error
        }
        for r in receivers { r.stop() }
        pool.close()
        try? await TestDatabase.dropDatabase(dbName)
        if let failure { throw failure }
    }

    private func measure(url: String, pool: PostgresPool, receivers: [TestWebhookReceiver], logger: Logger) async throws {
        let (tenant, _) = try await TestDatabase.makeTenant("bench-hooks", in: pool)
        let secrets = SecretBox(key: .random())
        let secret = Secret("bench-webhook-secret")
        let policy = try OutboundPolicy.fromEnvironment([
            OutboundPolicy.allowedHostsVariable: "127.0.0.1", OutboundPolicy.insecureHostsVariable: "127.0.0.1",
        ])
        var ids: [Int64] = []
        for (i, r) in receivers.enumerated() {
            ids.append(try await TestWebhookEndpoint.add(pool, tenant: tenant, name: "bench\(i)", url: r.url, secret: secret,
                                                         box: secrets, retryWindow: 3600))
        }
        var config = JobRunnerConfiguration()
        config.kinds = ["webhook"]
        config.slots = slots
        var settings = WebhookDeliverySettings()
        settings.outboundPolicy = policy
        let worker = WorkerServices(pool: pool, conninfo: url, secrets: secrets, runnerConfig: config, webhookSettings: settings,
                                    logger: logger)
        let running = Task { await worker.runner.run() }
        let listening = Task { await worker.listener.run() }
        defer { running.cancel(); listening.cancel() }

        // Throughput.
        let n = events
        let start = ContinuousClock.now
        try await pool.transaction(tenant: tenant) { conn in
            for i in 0..<n { try EventQueries.emit(conn, tenant: tenant, type: "bench.happened", payload: "{\"n\": \(i), \"pad\": \"\(String(repeating: "x", count: 200))\"}") }
        }
        let committed = ContinuousClock.now
        let last = Int64(n)
        while try await pool.transaction(tenant: tenant, { conn in
            try conn.query("SELECT count(*)::int FROM webhook_endpoint WHERE cursor_seq < \(last)").one().decode(Int.self, at: 0)
        }) > 0 {
            try await Task.sleep(for: .milliseconds(5))
        }
        let delivered = ContinuousClock.now - committed
        let deliveries = Double(n * receivers.count)
        let rate = deliveries / seconds(delivered)
        print("throughput: \(n) events x \(receivers.count) endpoints in \(format(seconds(delivered))) s after commit "
              + "(\(format(seconds(committed - start))) s writing): \(Int(rate)) deliveries/s")

        // Floor: the same bodies, signed, one connection per receiver, one thread each.
        let bodies = try await pool.transaction(tenant: tenant) { conn in
            try WebhookQueries.webhookPending(conn, tenant: tenant, types: [], after: 0, max: min(n, 1000))
        }
        var all = bodies
        while all.count < n {
            let more = try await pool.transaction(tenant: tenant) { [after = all.last!.seq] conn in
                try WebhookQueries.webhookPending(conn, tenant: tenant, types: [], after: after, max: 1000)
            }
            all += more
        }
        let payloads = all
        let floorStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in receivers {
                let target = WebhookTarget(url: r.url, policy: policy)
                group.addTask {
                    let thread = IOThread(name: "bench-floor")
                    defer { thread.stop() }
                    try await thread.run {
                        let c = try WebhookConnection(target)
                        for d in payloads {
                            let signature = WebhookSignature.header(secret: secret, timestamp: Int64(Date().timeIntervalSince1970),
                                                                    body: Array(d.body.utf8))
                            let answer = try c.post(d.body, headers: ["Content-Type: application/json", "Mailroom-Event-Id: \(d.eventID)",
                                                                      "Mailroom-Signature: \(signature)"])
                            guard answer.isAcknowledgement else { throw BenchFailure("floor POST answered \(answer.status)") }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let floor = deliveries / seconds(ContinuousClock.now - floorStart)
        print("floor (bare libcurl loop, same bodies): \(Int(floor)) POSTs/s; mailroom / floor = \(format(rate / floor))")

        // Latency: one event per transaction.
        var commits: [String: Double] = [:]
        for i in 0..<latencyEvents {
            let id = try await pool.transaction(tenant: tenant) { conn -> String in
                try EventQueries.emit(conn, tenant: tenant, type: "bench.latency", payload: "{\"i\": \(i)}")
                return try conn.query("SELECT id::text FROM event WHERE tenant_id = \(tenant) AND seq < 0").one().decode(String.self, at: 0)
            }
            commits[id] = Date().timeIntervalSince1970
            if latencyGapMs > 0 { try await Task.sleep(for: .milliseconds(latencyGapMs)) }
        }
        let target = Int64(n + latencyEvents)
        while try await pool.transaction(tenant: tenant, { conn in
            try conn.query("SELECT count(*)::int FROM webhook_endpoint WHERE cursor_seq < \(target)").one().decode(Int.self, at: 0)
        }) > 0 {
            try await Task.sleep(for: .milliseconds(5))
        }
        var latencies: [Double] = []
        for r in receivers {
            for request in try await r.requests() {
                if let id = request.headers["mailroom-event-id"], let committedAt = commits[id], (200..<300).contains(request.status) {
                    latencies.append(request.time - committedAt)
                }
            }
        }
        latencies.sort()
        guard !latencies.isEmpty else { throw BenchFailure("no latency samples") }
        func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print("latency commit -> receiver (\(latencies.count) deliveries): p50 \(format(pct(0.5) * 1000)) ms, "
              + "p95 \(format(pct(0.95) * 1000)) ms, max \(format(latencies.last! * 1000)) ms (target p95 <= 2000 ms)")
        running.cancel()
        listening.cancel()
        await running.value
        await listening.value
    }

    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
    private func format(_ x: Double) -> String { String(format: "%.3f", x) }
}
