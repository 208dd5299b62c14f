import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// `webhook_endpoint` as the workers use it, with the service role's rights (functions/10_access.sql),
/// and the wake-up at commit (functions/52_webhooks.sql).
@Suite struct WebhookQueriesTests {
    static func liveJobs(_ pool: PostgresPool, _ t: TenantID) async throws -> [String] {
        try await pool.transaction(tenant: t) { conn in
            try conn.query("SELECT unique_key || ':' || state FROM job WHERE tenant_id = \(t) AND kind = 'webhook' AND state IN ('ready', 'running')")
                .map { try $0.decode(String.self, at: 0) }
        }
    }

    @Test func theServiceDeliversRecordsFailuresAndDisablesWithAnEvent() async throws {
        let owner = try await TestDatabase.pool()
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let (t, _) = try await TestDatabase.makeTenant("hook-q", in: owner)
        try await service.transaction(tenant: t) { try EventQueries.emit($0, tenant: t, type: "test.before", payload: "{}") }
        let (all, cases) = try await owner.transaction(tenant: t) { conn in
            (try WebhookQueries.webhookUpsert(conn, tenant: t, .init(name: "all", url: "https://a.example.com/", eventTypes: [], retryWindow: 60)).0,
             try WebhookQueries.webhookUpsert(conn, tenant: t, .init(name: "cases", url: "https://b.example.com/", eventTypes: ["case.created"],
                                                                      retryWindow: 60)).0)
        }
        // A new endpoint starts after the tenant's last event, with its job queued.
        #expect(try await owner.transaction(tenant: t) { try WebhookQueries.webhookGet($0, tenant: t, id: all) }?.cursor == 1)
        #expect(Set(try await Self.liveJobs(owner, t)) == ["webhook:endpoint:\(all):ready", "webhook:endpoint:\(cases):ready"])
        try await owner.transaction(tenant: t) { conn in _ = try conn.execute("DELETE FROM job WHERE tenant_id = \(t) AND kind = 'webhook'") }

        // Events wake only the endpoints that want them, at commit.
        try await service.transaction(tenant: t) { conn in
            try EventQueries.emit(conn, tenant: t, type: "email.received", payload: "{\"n\": 2}")
            try EventQueries.emit(conn, tenant: t, type: "email.sent", payload: "{\"n\": 3}")
        }
        #expect(try await Self.liveJobs(owner, t) == ["webhook:endpoint:\(all):ready"])

        let (pending, moved, stale) = try await service.transaction(tenant: t) { conn in
            let pending = try WebhookQueries.webhookPending(conn, tenant: t, types: [], after: 1, max: 10)
            let moved = try WebhookQueries.webhookDelivered(conn, tenant: t, id: all, from: 1, seq: 2, status: 204)
            let stale = try WebhookQueries.webhookDelivered(conn, tenant: t, id: all, from: 1, seq: 3, status: 204)
            return (pending, moved, stale)
        }
        #expect(pending.map(\.seq) == [2, 3])
        #expect(pending[0].body.contains("\"type\" : \"email.received\"") && pending[0].body.contains("\"payload\" : {\"n\": 2}"))
        #expect(moved && !stale)
        #expect(try await service.transaction(tenant: t) {
            try WebhookQueries.webhookPending($0, tenant: t, types: ["case.created"], after: 0, max: 10)
        }.isEmpty)

        let run = try await service.transaction(tenant: t) { conn in
            let run = try WebhookQueries.webhookFailed(conn, tenant: t, id: all, status: nil, error: "webhook transport error timeout")
            try WebhookQueries.webhookDisable(conn, tenant: t, id: all, reason: "failing for longer than its retry window")
            return run
        }
        #expect(run?.failures == 1)
        let events = try await service.transaction(tenant: t) { try EventQueries.events($0, after: 3, max: 10) }
        #expect(events.map(\.type) == ["webhook.disabled"])
        #expect(events.first?.payload.contains("\"last_error\": \"webhook transport error timeout\"") == true)
        // Disabled: not woken by later events, and a failure is no longer counted.
        try await owner.transaction(tenant: t) { conn in _ = try conn.execute("DELETE FROM job WHERE tenant_id = \(t) AND kind = 'webhook'") }
        try await service.transaction(tenant: t) { try EventQueries.emit($0, tenant: t, type: "email.received", payload: "{}") }
        #expect(try await Self.liveJobs(owner, t).isEmpty)
        #expect(try await service.transaction(tenant: t) { try WebhookQueries.webhookFailed($0, tenant: t, id: all, status: 500, error: "x") } == nil)
    }
}
