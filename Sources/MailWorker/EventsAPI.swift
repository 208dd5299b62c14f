import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailStore

/// `GET /v1/events` (docs/api.md): authenticates the bearer key, finds its tenant, and answers a page
/// of that tenant's events. The HTTP server (`EventsAPIServer`) only carries requests here. The key
/// is never logged: a log line names the key id at most.
public struct EventsAPI: Sendable {
    /// What to answer: an HTTP status and a JSON body.
    public struct Answer: Sendable, Equatable {
        public var status: Int
        public var json: String
    }

    /// The one answer to a missing, malformed, unknown, revoked or wrong key: it says nothing about which.
    static let unauthorized = Answer(status: 401, json: error("a valid API key is required (Authorization: Bearer <key>)"))

    let pool: PostgresPool
    let wakeUps: EventWakeUps?
    let logger: Logger

    /// - Parameter wakeUps: what ends a `wait` early; without it a request with `wait` answers at once.
    public init(pool: PostgresPool, wakeUps: EventWakeUps?, logger: Logger) {
        self.pool = pool
        self.wakeUps = wakeUps
        self.logger = logger
    }

    /// The answer to one request with this `Authorization` header and these query parameters.
    public func events(authorization: String?, query: [String: String]) async -> Answer {
        guard let token = EventsPageRequest.bearerToken(authorization), let key = try? APIKey.parse(token) else {
            return Self.unauthorized
        }
        let request: EventsPageRequest
        switch EventsPageRequest.parse(query) {
        case .success(let r): request = r
        case .failure(let refusal): return Answer(status: 400, json: Self.error(refusal.message))
        }
        let deadline = ContinuousClock.now + .seconds(request.waitSeconds)
        do {
            while true {
                // Read before the page: a notification that comes while the page is read ends the wait at once.
                let generation = wakeUps?.generation  // nil: no waiting (none asked for, or shutting down)
                // Checked again on every read: a key revoked during a wait stops at the next one.
                guard let page = try await page(key, request) else { return Self.unauthorized }
                guard page.isEmpty, let wakeUps, let generation, ContinuousClock.now < deadline else {
                    return Answer(status: 200, json: Self.render(page, after: request.after))
                }
                await wakeUps.wait(since: generation, until: deadline)
            }
        } catch {
            logger.error("events API request failed", metadata: ["key_id": "\(key.keyID)", "error": "\(error)"])
            return Answer(status: 503, json: Self.error("events are unavailable right now; try again"))
        }
    }

    /// The key's tenant's page, in one transaction; nil when the key is not a live one.
    private func page(_ key: APIKey, _ request: EventsPageRequest) async throws -> [EventRecord]? {
        let keyID = key.keyID, hash = key.secretHash
        return try await pool.withConnection { conn -> [EventRecord]? in
            try conn.transaction {
                guard let tenant = try APIKeyQueries.apiKeyTenant(conn, keyID: keyID, secretHash: hash) else { return nil }
                try conn.execute("SELECT set_config('mailroom.tenant_id', \(tenant.description), true)")
                return try EventQueries.events(conn, after: request.after, max: request.limit)
            }
        }
    }

    /// `{"events": [...], "next_after": N}`; each payload goes out as it is stored.
    static func render(_ events: [EventRecord], after: Int64) -> String {
        let time = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let items = events.map { e in
            "{\"seq\":\(e.seq),\"id\":\(string(e.id)),\"type\":\(string(e.type)),\"version\":\(e.version),"
                + "\"occurred_at\":\(string(e.occurredAt.formatted(time))),\"payload\":\(e.payload)}"
        }
        return "{\"events\":[\(items.joined(separator: ","))],\"next_after\":\(events.last?.seq ?? after)}"
    }

    static func error(_ message: String) -> String { "{\"error\":\(string(message))}" }

    /// A JSON string literal (RFC 8259 §7).
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
