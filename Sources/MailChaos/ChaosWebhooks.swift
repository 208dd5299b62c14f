import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting

/// The events side of a chaos run: every tenant has a webhook endpoint (all event types) on one
/// receiver that answers 5xx to 30 % of deliveries throughout and is down for a stretch mid-run. At
/// the end, once every endpoint's cursor has reached its tenant's last event, what the receiver got is
/// checked against the database: after de-duplication by event id, one `email.received` per stored
/// email and one `case.created` per case; each tenant's sequence gap-free and in order at the
/// receiver; every signature valid; nothing delivered to another tenant's endpoint.
final class ChaosWebhooks: @unchecked Sendable {  // immutable after `make`
    let receiver: TestWebhookReceiver
    /// Tenant slug → the endpoint's secret.
    let secrets: [String: Secret]
    static let failureFraction = 0.3

    private init(receiver: TestWebhookReceiver, secrets: [String: Secret]) {
        self.receiver = receiver
        self.secrets = secrets
    }

    /// Starts the receiver and gives every tenant of the run an endpoint on it, as `mailroom apply`
    /// would (the row, then its secret sealed against the row).
    static func make(setup: ChaosSetup, key: SecretKey) async throws -> ChaosWebhooks {
        let receiver = try TestWebhookReceiver()
        let box = SecretBox(key: key)
        var secrets: [String: Secret] = [:]
        for t in setup.tenants {
            let secret = Secret(Hex.encode(SecureRandom.bytes(32)))
            secrets[t.slug] = secret
            try await TestWebhookEndpoint.add(setup.pool, tenant: t.id, name: "chaos", url: "\(receiver.url)/hook/\(t.slug)",
                                              secret: secret, box: box)
        }
        let hooks = ChaosWebhooks(receiver: receiver, secrets: secrets)
        try await hooks.flaky()
        return hooks
    }

    /// 5xx to a share of deliveries, 2xx to the rest.
    func flaky() async throws { try await receiver.setMode(.fail(status: 503, fraction: Self.failureFraction, seed: 7)) }
    /// Every connection closed without an answer.
    func down() async throws { try await receiver.setMode(.down) }

    /// Waits until every endpoint has delivered its tenant's last event, or `timeout` passes; returns
    /// the events still undelivered per tenant (empty when all arrived).
    func settle(setup: ChaosSetup, timeout: Duration, event: (String) -> Void) async throws -> [String: Int64] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Int64] = [:]
        while true {
            var behind: [String: Int64] = [:]
            for t in setup.tenants {
                let tenant = t.id
                let (cursor, lastSeq) = try await setup.pool.transaction(tenant: tenant) { conn in
                    (try conn.query("SELECT cursor_seq FROM webhook_endpoint WHERE name = 'chaos'").one().decode(Int64.self, at: 0),
                     try EventQueries.lastSeq(conn, tenant: tenant))
                }
                if cursor < lastSeq { behind[t.slug] = lastSeq - cursor }
            }
            if behind != last { event("waiting for webhooks: \(behind.isEmpty ? "all delivered" : "\(behind) event(s) behind")"); last = behind }
            if behind.isEmpty || ContinuousClock.now >= deadline { return behind }
            try await Task.sleep(for: .seconds(1))
        }
    }

    struct Envelope: Decodable {
        var seq: Int64
        var id: String
        var type: String
        var payload: [String: JSONNumberOrOther]
    }

    /// A payload field as far as the check needs it: integers (ids) and anything else.
    enum JSONNumberOrOther: Decodable {
        case integer(Int64)
        case other
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int64.self) { self = .integer(n) } else { self = .other }
        }
        var integer: Int64? { if case .integer(let n) = self { n } else { nil } }
    }

    /// Report lines and invariant violations.
    func check(setup: ChaosSetup) async throws -> (lines: [String], problems: [String]) {
        let requests = try await receiver.requests()
        var lines: [String] = [], problems: [String] = []
        let answered = requests.filter { (200..<300).contains($0.status) }
        lines.append("webhook requests: \(requests.count) (\(answered.count) answered 2xx, "
                     + "\(requests.filter { $0.status >= 500 }.count) 5xx, \(requests.filter { $0.status == 0 }.count) closed unanswered)")
        var badSignatures = 0
        for r in requests {
            guard let tenant = r.path.split(separator: "/").last.map(String.init), let secret = secrets[tenant],
                  let header = r.headers[WebhookSignature.headerName.lowercased()],
                  WebhookSignature.verify(header, secret: secret, body: Array(r.body.utf8)) else {
                badSignatures += 1
                continue
            }
        }
        if badSignatures > 0 { problems.append("\(badSignatures) webhook request(s) without a valid signature for their endpoint") }

        for t in setup.tenants {
            let tenant = t.id
            let mine = answered.filter { $0.path == "/hook/\(t.slug)" }
            var firstArrival: [Envelope] = []
            var seenIDs = Set<String>()
            var undecodable = 0
            for r in mine {
                guard let e = try? JSONDecoder().decode(Envelope.self, from: Data(r.body.utf8)) else { undecodable += 1; continue }
                if seenIDs.insert(e.id).inserted { firstArrival.append(e) }
            }
            let (eventIDs, lastSeq, emails, cases) = try await setup.pool.transaction(tenant: tenant) { conn in
                (Set(try conn.query("SELECT id::text FROM event").map { try $0.decode(String.self, at: 0) }),
                 try EventQueries.lastSeq(conn, tenant: tenant),
                 Set(try conn.query("SELECT id FROM email WHERE queued_at IS NULL").map { try $0.decode(Int64.self, at: 0) }),
                 Set(try conn.query("SELECT id FROM support_case").map { try $0.decode(Int64.self, at: 0) }))
            }
            let seqs = firstArrival.map(\.seq)
            let received = firstArrival.filter { $0.type == "email.received" }.compactMap { $0.payload["email_id"]?.integer }
            let created = firstArrival.filter { $0.type == "case.created" }.compactMap { $0.payload["case_id"]?.integer }
            let foreign = firstArrival.filter { !eventIDs.contains($0.id) }.count
            lines.append("-- tenant \(t.slug): \(mine.count) deliveries acknowledged, \(firstArrival.count) distinct events "
                         + "(last seq \(lastSeq)); email.received \(received.count) for \(emails.count) emails; "
                         + "case.created \(created.count) for \(cases.count) cases")
            if undecodable > 0 { problems.append("\(t.slug): \(undecodable) acknowledged delivery body(ies) not an event envelope") }
            if seqs != Array(stride(from: Int64(1), through: lastSeq, by: 1)) {
                let gaps = Set(1...max(lastSeq, 1)).subtracting(seqs).count
                problems.append("\(t.slug): events at the receiver not 1…\(lastSeq) in order (\(seqs.count) distinct, \(gaps) missing)")
            }
            if received.count != emails.count || Set(received) != emails {
                problems.append("\(t.slug): \(received.count) email.received for \(emails.count) stored emails")
            }
            if created.count != cases.count || Set(created) != cases {
                problems.append("\(t.slug): \(created.count) case.created for \(cases.count) cases")
            }
            if foreign > 0 { problems.append("\(t.slug): \(foreign) event(s) of another tenant delivered to its endpoint") }
        }
        let stray = answered.filter { r in !setup.tenants.contains { r.path == "/hook/\($0.slug)" } }.count
        if stray > 0 { problems.append("\(stray) delivery(ies) to a path no endpoint names") }
        return (lines, problems)
    }
}
