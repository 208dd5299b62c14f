import Foundation

/// What a token endpoint's answer (RFC 6749 §5) means for the account, decided from the status,
/// the Content-Type, the Retry-After header and the body. Pure: the transport hands over bytes.
///
/// A garbage, HTML or oversized answer is an error with a clear reason, never a crash and never a
/// state change of the account; `invalid_grant` (revoked, password changed, consent withdrawn) is
/// the one answer that makes an account need a new login. Reasons quote the provider's
/// `error_description` (bounded, one line) but never a token.
public enum OAuthTokenAnswer: Sendable, Equatable {
    /// New tokens. `refreshToken` is nil when the provider did not rotate it (keep the old one).
    case tokens(accessToken: String, refreshToken: String?, expiresIn: Int, scope: String?)
    /// The grant is gone: the account needs a new login (`reauth_required`).
    case invalidGrant(reason: String)
    /// Try again later: 5xx, 429, timeouts. `after` is the server's Retry-After, when it gave one.
    case retryLater(reason: String, after: Int?)
    /// Anything else (a malformed answer, another OAuth error such as `invalid_client`): an error
    /// the operator must see; retried with backoff like `retryLater`, never a state change.
    case failed(reason: String)

    /// Longest description kept from a provider's answer.
    static let maxReasonLength = 300

    public static func interpret(status: Int, contentType: String?, retryAfter: String?, body: [UInt8]) -> OAuthTokenAnswer {
        if status == 429 || (500...599).contains(status) {
            return .retryLater(reason: "token endpoint answered HTTP \(status)", after: retryAfter.flatMap(parseRetryAfter))
        }
        let type = (contentType ?? "").lowercased()
        guard type.hasPrefix("application/json") || type.contains("+json") else {
            return .failed(reason: "token endpoint answered HTTP \(status) with \(type.isEmpty ? "no content type" : "content type \(clean(type))"), not JSON")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failed(reason: "token endpoint answered HTTP \(status) with a body that is not a JSON object")
        }
        if let error = object["error"] as? String {
            let description = (object["error_description"] as? String).map { ": " + clean($0) } ?? ""
            let reason = "\(clean(error))\(description)"
            return error == "invalid_grant" ? .invalidGrant(reason: reason) : .failed(reason: "token endpoint refused: \(reason)")
        }
        guard status == 200 else {
            return .failed(reason: "token endpoint answered HTTP \(status) without an OAuth error")
        }
        guard let access = object["access_token"] as? String, !access.isEmpty else {
            return .failed(reason: "token endpoint answer has no access_token")
        }
        if let type = object["token_type"] as? String, type.lowercased() != "bearer" {
            return .failed(reason: "token endpoint issued a token of type \(clean(type)), not Bearer")
        }
        // expires_in is RECOMMENDED (RFC 6749 §5.1); some providers send it as a string.
        let expiresIn = (object["expires_in"] as? Int) ?? (object["expires_in"] as? String).flatMap { Int($0) }
        guard let expiresIn, expiresIn > 0 else {
            return .failed(reason: "token endpoint answer has no positive expires_in")
        }
        let refresh = (object["refresh_token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        return .tokens(accessToken: access, refreshToken: refresh, expiresIn: expiresIn, scope: object["scope"] as? String)
    }

    /// Retry-After in seconds (RFC 9110 §10.2.3); the HTTP-date form is rare at token endpoints and
    /// read as "no hint".
    static func parseRetryAfter(_ value: String) -> Int? {
        Int(value.trimmingCharacters(in: .whitespaces)).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// One printable line, bounded.
    public static func clean(_ text: String) -> String {
        let line = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return line.count > maxReasonLength ? String(line.prefix(maxReasonLength)) + "…" : line
    }
}

/// When to refresh an access token: ahead of its expiry by a margin that scales with its lifetime
/// (a fifth of it, at least 5 s and at most 5 min), so a 60-second test token is refreshed 12 s early
/// and a one-hour token 5 minutes early.
public enum TokenRefreshTiming {
    public static func margin(lifetime: Duration) -> Duration {
        min(max(lifetime / 5, .seconds(5)), .seconds(300))
    }

    /// True when a token issued for `lifetime` and expiring at `expiresAt` should be refreshed at `now`.
    public static func isDue(expiresAt: Date, lifetime: Duration, now: Date) -> Bool {
        let marginSeconds = Double(margin(lifetime: lifetime).components.seconds)
        return now.addingTimeInterval(marginSeconds) >= expiresAt
    }
}
