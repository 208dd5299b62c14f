import Foundation

/// What `GET /v1/events` asks for (docs/api.md): events numbered after `after`, at most `limit`.
/// Pure parsing of the query and of the `Authorization` header; the worker's `EventsAPI` acts on it.
public struct EventsPageRequest: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maxLimit = 1000
    /// The longest a request may wait for its first event (`wait`, seconds).
    public static let maxWaitSeconds = 30

    public var after: Int64
    public var limit: Int
    /// Seconds to wait for an event when none is numbered after `after` yet (0: answer at once).
    public var waitSeconds: Int

    public init(after: Int64 = 0, limit: Int = EventsPageRequest.defaultLimit, waitSeconds: Int = 0) {
        self.after = after
        self.limit = limit
        self.waitSeconds = waitSeconds
    }

    /// Parameters other than `after`, `limit` and `wait` are refused too: a misspelt `limt` must not silently
    /// mean the default. The message is safe to send back to the client.
    public static func parse(_ query: [String: String]) -> Result<EventsPageRequest, Refusal> {
        var request = EventsPageRequest()
        for name in query.keys.sorted() where !["after", "limit", "wait"].contains(name) {
            return .failure(Refusal("unknown query parameter \"\(name.prefix(40))\" (use after, limit and wait)"))
        }
        if let text = query["after"] {
            guard let after = Int64(text), after >= 0, text.allSatisfy(\.isASCII) else {
                return .failure(Refusal("after must be 0 or an event sequence number"))
            }
            request.after = after
        }
        if let text = query["limit"] {
            guard let limit = Int(text), (1...maxLimit).contains(limit), text.allSatisfy(\.isASCII) else {
                return .failure(Refusal("limit must be a whole number from 1 to \(maxLimit)"))
            }
            request.limit = limit
        }
        if let text = query["wait"] {
            guard let wait = Int(text), (0...maxWaitSeconds).contains(wait), text.allSatisfy(\.isASCII) else {
                return .failure(Refusal("wait must be a whole number of seconds from 0 to \(maxWaitSeconds)"))
            }
            request.waitSeconds = wait
        }
        return .success(request)
    }

    /// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1; the scheme is
    /// case-insensitive), nil for anything else.
    public static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// Why a request was refused, in words for the client.
    public struct Refusal: Error, Sendable, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }
}
