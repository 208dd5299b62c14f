import Foundation
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting
import Testing

extension WorkerProcessTests {
    /// `mailroom worker --metrics-port`: a real worker process on a fresh database, scraped over loopback.
    @Suite(.serialized) struct MetricsEndpointTests {
        @Test func workerServesJobCountersQueueGaugesAndIMAPErrors() async throws {
            let fixture = try await ReplicaFixture.make()
            do {
                let tenant = try await fixture.makeTenant("metrics-trace")
                // An account whose server refuses connections: its polls fail with a transport error.
                let brokenSlug = TestDatabase.uniqueSlug("metrics-broken")
                let closedPort = try LoopbackHTTP.freePort()
                let manifest = try ManifestParser.parse("""
                    tenant: \(brokenSlug)
                    teams: [{name: support, positions: [agent]}]
                    users:
                      - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: {support: agent}}
                    group_accounts:
                      - name: Broken
                        address: broken@acme.test
                        imap: {host: 127.0.0.1, port: \(closedPort), security: none, password: env:PW}
                        teams: [support]
                    """, environment: ["PW": "not-a-real-password",
                                       "MAILROOM_INSECURE_HOSTS": ProcessInfo.processInfo.environment["MAILROOM_INSECURE_HOSTS"] ?? ""])
                _ = try await ManifestApplier(secrets: SecretBox(key: try SecretKey.fromEnvironment())).apply(manifest, to: fixture.pool)

                let port = try LoopbackHTTP.freePort()
                try fixture.startReplica(metricsPort: port)
                let trace = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).trace").path
                defer { try? FileManager.default.removeItem(atPath: trace) }
                _ = try await fixture.enqueueTraceJobs(tenant, count: 7, file: trace)

                var body = ""
                try await fixture.waitUntil(timeout: .seconds(30), "7 trace jobs counted, an IMAP error and its failed poll on /metrics") {
                    guard let r = try? LoopbackHTTP.get(port: port, path: "/metrics") else { return false }
                    body = r.body
                    return LoopbackHTTP.sample(body, #"mailroom_jobs_done_total{kind="trace"}"#) == 7
                        && (LoopbackHTTP.sample(body, "mailroom_imap_errors_total{tenant=\"\(brokenSlug)\"}") ?? 0) >= 1
                        // The IMAP error is counted during the poll, the failed job only once it ends.
                        && (LoopbackHTTP.sample(body, #"mailroom_jobs_failed_total{kind="poll"}"#) ?? 0) >= 1
                }
                let response = try LoopbackHTTP.get(port: port, path: "/metrics")
                #expect(response.status == 200)
                #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(LoopbackHTTP.sample(body, #"mailroom_jobs_claimed_total{kind="trace"}"#) == 7)
                #expect((LoopbackHTTP.sample(body, #"mailroom_jobs_failed_total{kind="poll"}"#) ?? 0) >= 1)
                #expect(ReplicaFixture.traceLines(trace).count == 7)
                // Every replica publishes the queue gauges, for every active tenant.
                try await fixture.waitUntil(timeout: .seconds(15), "queue gauges for both tenants") {
                    guard let r = try? LoopbackHTTP.get(port: port, path: "/metrics") else { return false }
                    return LoopbackHTTP.sample(r.body, "mailroom_queue_depth{tenant=\"\(brokenSlug)\"}") != nil
                        && r.body.contains("mailroom_poll_overdue_seconds{tenant=\"\(brokenSlug)\"}")
                        && r.body.contains("mailroom_queue_depth{tenant=\"metrics-trace\"}")
                }
                #expect(try LoopbackHTTP.get(port: port, path: "/nothing").status == 404)

                // SIGTERM stops the HTTP server with the rest of the worker, cleanly.
                #expect(fixture.stopAll() == [0])
                #expect(throws: (any Error).self) { try LoopbackHTTP.get(port: port, path: "/metrics") }
            } catch {
                await fixture.tearDown()
                throw error
            }
            await fixture.tearDown()
        }
    }
}
