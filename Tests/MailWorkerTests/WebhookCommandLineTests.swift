import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing

/// The webhook parts of the `mailroom` executable: apply's URL check after DNS resolution,
/// `events replay`, and `status` (which must never show a secret).
@Suite struct WebhookCommandLineTests {
    static func manifest(_ url: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString).yaml").path
        try "tenant: acme\nwebhooks:\n  - {name: crm, url: \"\(url)\", secret: env:HOOK_SECRET}\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func applyRefusesANameResolvingToLoopbackUnlessTheOperatorAllowsIt() async throws {
        let file = try Self.manifest("https://localhost:8443/hooks")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let refused = try await MailroomBinary.run(["apply", "--check", file], env: [
            "HOOK_SECRET": "do-not-print-me", OutboundPolicy.allowedHostsVariable: "", OutboundPolicy.insecureHostsVariable: "",
        ])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("webhooks[0].url: host \"localhost\" refused: address class loopback, not in MAILROOM_ALLOWED_HOSTS"))
        #expect(!(refused.stderr + refused.stdout).contains("do-not-print-me"))
        let allowed = try await MailroomBinary.run(["apply", "--check", file],
                                             env: ["HOOK_SECRET": "x", OutboundPolicy.allowedHostsVariable: "localhost"])
        #expect(allowed.status == 0)
        #expect(allowed.stdout.contains("ok"))
    }

    @Test func replayMovesTheCursorAndStatusShowsADisabledEndpointWithoutItsSecret() async throws {
        let pool = try await TestDatabase.pool()
        let (tenant, slug) = try await TestDatabase.makeTenant("hook-cli", in: pool)
        let box = SecretBox(key: .random())
        let id = try await pool.transaction(tenant: tenant) { conn in
            let (id, _) = try WebhookQueries.webhookUpsert(conn, tenant: tenant, .init(
                name: "crm", url: "https://crm.example.com/hooks", eventTypes: [], retryWindow: 60))
            _ = try WebhookQueries.webhookSetSecret(conn, tenant: tenant, id: id, secret: try box.seal(
                Secret("very-secret-hook-key"), context: WebhookEndpointRecord.secretContext(tenant: tenant, endpoint: id)))
            _ = try WebhookQueries.webhookFailed(conn, tenant: tenant, id: id, status: 503, error: "HTTP 503 for event 1")
            try WebhookQueries.webhookDisable(conn, tenant: tenant, id: id, reason: "failing for longer than its retry window (60 s)")
            return id
        }
        let status = try await MailroomBinary.run(["status", "--tenant", slug])
        #expect(status.status == 0)
        #expect(status.stdout.contains("crm") && status.stdout.contains("disabled") && status.stdout.contains("retry window"))
        let json = try await MailroomBinary.run(["status", "--tenant", slug, "--json"])
        #expect(json.stdout.contains("\"webhooks\"") && json.stdout.contains("\"enabled\" : false"))
        for output in [status.stdout, status.stderr, json.stdout, json.stderr] {
            #expect(!output.contains("very-secret-hook-key"))
        }

        #expect(try await MailroomBinary.run(["events", "replay", "--tenant", "no-such-tenant", "--endpoint", "crm", "--from", "1"])
            .stderr.contains("no tenant \"no-such-tenant\""))
        let unknown = try await MailroomBinary.run(["events", "replay", "--tenant", slug, "--endpoint", "nope", "--from", "1"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no webhook endpoint \"nope\" in tenant \"\(slug)\""))
        #expect(try await MailroomBinary.run(["events", "replay", "--tenant", slug, "--endpoint", "crm", "--from", "0"]).status != 0)
        let replay = try await MailroomBinary.run(["events", "replay", "--tenant", slug, "--endpoint", "crm", "--from", "7"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let (cursor, enabled, failures, job) = try await pool.transaction(tenant: tenant) { conn in
            let row = try conn.query("""
                SELECT cursor_seq, enabled, consecutive_failures,
                       (SELECT state FROM job WHERE tenant_id = \(tenant) AND unique_key = 'webhook:endpoint:' || \(id))
                FROM webhook_endpoint WHERE id = \(id)
                """).one()
            return (try row.decode(Int64.self, at: 0), try row.decode(Bool.self, at: 1), try row.decode(Int.self, at: 2),
                    try row.decode(String?.self, at: 3))
        }
        #expect(cursor == 6 && enabled && failures == 0)
        #expect(job == "ready")
        // Deleting the endpoint takes its job with it.
        try await pool.transaction(tenant: tenant) { conn in _ = try conn.execute("DELETE FROM webhook_endpoint WHERE id = \(id)") }
        let jobs = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT count(*)::int FROM job WHERE tenant_id = \(tenant) AND kind = 'webhook'").one().decode(Int.self, at: 0)
        }
        #expect(jobs == 0)
    }
}
