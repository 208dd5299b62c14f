import Foundation
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
import Testing

extension WorkerProcessTests {
    /// A real `mailroom worker` imports and sends against the test servers, scraped over HTTP for its
    /// latency histograms and exporting its spans to a collector on loopback (OTLP/HTTP, JSON).
    @Suite(.serialized) struct WorkerObservabilityTests {
        @Test func importAndSendShowAsHistogramsOnMetricsAndAsSpansAtTheCollector() async throws {
            let r = try await ReplicaFixture.make()
            do {
                let f = WorkerFixture(pool: r.pool, server: try TestMailServer.fromEnvironment(), key: try SecretKey.fromEnvironment())
                let s = try await SendingFixture.make(on: f)
                let box = try f.server.createMailbox(prefix: "obs")
                let customer = try f.server.createMailbox(prefix: "obs-customer")
                try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "obs-0@x.test", subject: "before")])
                let (tenant, slug) = try await f.tenant("obs", accounts: [s.account("Support", box)])
                try await f.query(tenant) { try $0.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'") }

                let collector = try CannedHTTPServer(json: "{}")
                let port = try LoopbackHTTP.freePort()
                try r.startReplica(metricsPort: port, environment: [
                    "MAILROOM_OTEL_TRACES": "otlp-http", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collector.port)",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "100",
                ])
                // The first sync imports what was there before: no delivery latency for it.
                try await r.waitUntil(timeout: .seconds(60), "the first sync") {
                    try await f.count(tenant, "SELECT count(*) FROM email") == 1
                }
                // Live mail: two messages, and a poll asked for at once (the CRM's "check mail").
                try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "obs-1@x.test", subject: "one"),
                                                              TestMessages.plain(id: "obs-2@x.test", subject: "two")])
                try await f.query(tenant) { try $0.execute("SELECT mailroom_request_poll(id) FROM mail_folder") }
                try await r.waitUntil(timeout: .seconds(60), "the live mail imported") {
                    try await f.count(tenant, "SELECT count(*) FROM email") == 3
                }
                let sent = try await s.queue(tenant, EmailDraft(account: try await s.accountID(tenant, "Support"),
                                                                user: try await s.user(tenant, "alice"), to: [customer.address],
                                                                subject: "traced", text: "hello"))
                try await r.waitUntil(timeout: .seconds(60), "the email sent") { try await s.status(tenant, sent).status == "Sent" }

                var body = ""
                let tenantLabel = "tenant=\"\(slug)\""
                try await r.waitUntil(timeout: .seconds(30), "the latency histograms on /metrics") {
                    guard let response = try? LoopbackHTTP.get(port: port, path: "/metrics") else { return false }
                    body = response.body
                    return LoopbackHTTP.sample(body, "mailroom_queue_to_sent_seconds_count{\(tenantLabel)}") == 1
                }
                // Exactly the two live messages: the first sync's message is not a delivery latency.
                #expect(LoopbackHTTP.sample(body, "mailroom_delivery_to_row_seconds_count{\(tenantLabel)}") == 2)
                #expect(LoopbackHTTP.sample(body, "mailroom_delivery_to_row_seconds_bucket{\(tenantLabel),le=\"+Inf\"}") == 2)
                // Delivered seconds ago: inside the one-hour bucket.
                #expect(LoopbackHTTP.sample(body, "mailroom_delivery_to_row_seconds_bucket{\(tenantLabel),le=\"3600.0\"}") == 2)
                #expect(LoopbackHTTP.sample(body, "mailroom_queue_to_sent_seconds_bucket{\(tenantLabel),le=\"+Inf\"}") == 1)
                let polls = try #require(LoopbackHTTP.sample(body, "mailroom_poll_lag_seconds_count{\(tenantLabel)}"))
                #expect(polls >= 2)
                #expect(LoopbackHTTP.sample(body, "mailroom_job_wait_seconds_count{kind=\"send\"}") == 1)
                #expect(LoopbackHTTP.sample(body, "mailroom_jobs_claimed_total{kind=\"send\"}") == 1)
                // Every poll started was claimed first (a claim is counted before its poll starts).
                #expect((LoopbackHTTP.sample(body, #"mailroom_job_wait_seconds_bucket{kind="poll",le="+Inf"}"#) ?? 0) >= polls)
                #expect(body.contains("# TYPE mailroom_delivery_to_row_seconds histogram"))

                // The spans: one `send email` with its steps as children, and the import's batches under
                // `poll folder`, the store naming the emails it stored.
                var spans: [Span] = []
                try await r.waitUntil(timeout: .seconds(30), "the spans at the collector") {
                    spans = collector.requests.filter { $0.path == "/v1/traces" }.flatMap { Span.all(in: $0.body) }
                    return spans.contains { $0.name == "mark sent" } && spans.filter { $0.name == "store batch" }.count >= 2
                }
                let send = try #require(spans.first { $0.name == "send email" && $0.attributes["mailroom.email_id"] == "\(sent)" })
                #expect(send.parent == nil)
                let steps = spans.filter { $0.parent == send.id }.map(\.name)
                #expect(Set(steps) == ["compose", "smtp submit", "mark sent"])
                #expect(spans.filter { $0.parent == send.id }.allSatisfy { $0.trace == send.trace })
                let stores = spans.filter { $0.name == "store batch" }
                let stored = stores.flatMap { $0.attributes["mailroom.email_ids"]?.split(separator: ",").map(String.init) ?? [] }
                let ids = try await f.query(tenant) { try $0.query("SELECT id FROM email WHERE message_id LIKE '%obs-_@x.test%'").map { try $0.decode(Int64.self, at: 0) } }
                #expect(Set(stored) == Set(ids.map(String.init)))
                for store in stores {
                    let poll = try #require(spans.first { $0.id == store.parent }, "store batch has a parent")
                    #expect(poll.name == "poll folder")
                    #expect(poll.attributes["mailroom.tenant_id"] == "\(tenant)")
                    let siblings = Set(spans.filter { $0.parent == poll.id }.map(\.name))
                    #expect(siblings == ["fetch batch", "parse batch", "store batch"])
                }
                #expect(r.stopAll() == [0])
            } catch {
                await r.tearDown()
                throw error
            }
            await r.tearDown()
        }
    }
}

/// A span as an OTLP/HTTP JSON export carries it (resourceSpans → scopeSpans → spans); attribute
/// values as text, arrays joined with commas.
struct Span {
    var name: String
    var id: String
    var parent: String?
    var trace: String
    var attributes: [String: String]

    static func all(in body: [UInt8]) -> [Span] {
        guard let doc = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return [] }
        let resources = doc["resourceSpans"] as? [[String: Any]] ?? []
        let scopes = resources.flatMap { $0["scopeSpans"] as? [[String: Any]] ?? [] }
        return scopes.flatMap { $0["spans"] as? [[String: Any]] ?? [] }.map { span in
            var attributes: [String: String] = [:]
            for attribute in span["attributes"] as? [[String: Any]] ?? [] {
                guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any] else { continue }
                attributes[key] = text(value)
            }
            let parent = span["parentSpanId"] as? String
            return Span(name: span["name"] as? String ?? "", id: span["spanId"] as? String ?? "",
                        parent: parent?.isEmpty == false ? parent : nil, trace: span["traceId"] as? String ?? "", attributes: attributes)
        }
    }

    /// An OTLP `AnyValue` as text (int64s arrive as strings in the JSON encoding).
    private static func text(_ value: [String: Any]) -> String {
        if let array = value["arrayValue"] as? [String: Any] {
            return (array["values"] as? [[String: Any]] ?? []).map(text).joined(separator: ",")
        }
        for key in ["stringValue", "intValue", "doubleValue", "boolValue"] {
            if let v = value[key] { return "\(v)" }
        }
        return ""
    }
}
