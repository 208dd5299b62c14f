import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MailCore

/// The OAuth 2.0 authorization server of the test environment (`scripts/lib/oauth_token_server.py`,
/// `MAILROOM_TEST_OAUTH_URL`): the provider of OAuth tests and the introspection endpoint behind the test
/// Dovecot's `oauth2` passdb (and so behind Postfix's SMTP AUTH). Its control endpoints make users,
/// revoke and expire their tokens and inject faults.
public struct TestTokenServer: Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Tokens the server issued: the access token is accepted by Dovecot and Postfix at once.
    public struct Grant: Sendable, Decodable {
        public let accessToken: Secret
        public let refreshToken: Secret
        public let expiresIn: Int

        enum CodingKeys: String, CodingKey { case accessToken = "access_token", refreshToken = "refresh_token", expiresIn = "expires_in" }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            accessToken = Secret(try c.decode(String.self, forKey: .accessToken))
            refreshToken = Secret(try c.decode(String.self, forKey: .refreshToken))
            expiresIn = try c.decode(Int.self, forKey: .expiresIn)
        }
    }

    public let baseURL: URL

    public static func fromEnvironment() throws -> TestTokenServer {
        guard let text = ProcessInfo.processInfo.environment["MAILROOM_TEST_OAUTH_URL"], let url = URL(string: text) else {
            throw Unavailable(description: "MAILROOM_TEST_OAUTH_URL is not set: run the tests through `make test` (it starts the token server)")
        }
        return TestTokenServer(baseURL: url)
    }

    /// Makes (or remakes) `username` at the provider, as if it had consented: a refresh token and a
    /// first access token living `ttl` seconds (the server's default when nil).
    public func makeUser(_ username: String, ttl: Int? = nil) async throws -> Grant {
        var body: [String: Any] = ["username": username]
        if let ttl { body["ttl"] = ttl }
        return try JSONDecoder().decode(Grant.self, from: try await control("user", body))
    }

    /// Every token of `username` stops working: refresh gives `invalid_grant`, introspection `inactive`.
    public func revoke(_ username: String) async throws { _ = try await control("revoke", ["username": username]) }

    /// The user's access tokens expire now; the refresh token still works.
    public func expireAccessTokens(_ username: String) async throws { _ = try await control("expire", ["username": username]) }

    /// When each user's refresh token was redeemed (Unix seconds), and how often a rotated-away refresh
    /// token was presented.
    public func refreshTimes() async throws -> (times: [String: [Double]], rotatedReuse: Int) {
        let (data, _) = try await URLSession.shared.data(from: baseURL.appendingPathComponent("control/stats"))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let refreshes = json["refreshes"] as? [String: [Double]], let reuse = json["rotated_reuse"] as? Int else {
            throw Unavailable(description: "unexpected answer from the token server's stats")
        }
        return (refreshes, reuse)
    }

    /// Faults of the token endpoint (`/token`) for the next `count` refreshes of `username`'s grant.
    public enum Fault: String, Sendable { case serverError = "5xx", tooManyRequests = "429", garbage, html, oversized, slow }

    public func inject(_ fault: Fault, for username: String, count: Int = 1, retryAfter: Int? = nil, delay: Double? = nil) async throws {
        var body: [String: Any] = ["username": username, "mode": fault.rawValue, "count": count]
        if let retryAfter { body["retry_after"] = retryAfter }
        if let delay { body["delay"] = delay }
        _ = try await control("fault", body)
    }

    /// Approves a pending device authorization (RFC 8628) as `username`, as the user would after
    /// entering `userCode` at the verification URI.
    public func approveDevice(userCode: String, as username: String) async throws {
        _ = try await control("approve", ["user_code": userCode, "username": username])
    }

    /// The token endpoint's URL.
    public var tokenURL: String { baseURL.appendingPathComponent("token").absoluteString }

    /// How many times each user's refresh token was redeemed, how often a rotated-away refresh token
    /// was presented (by anyone), and how many token requests presented each user's refresh token.
    public func stats() async throws -> (refreshes: [String: Int], rotatedReuse: Int, tokenRequests: [String: Int]) {
        let (data, _) = try await URLSession.shared.data(from: baseURL.appendingPathComponent("control/stats"))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let refreshes = json["refreshes"] as? [String: [Double]], let reuse = json["rotated_reuse"] as? Int,
              let requests = json["requests_by_user"] as? [String: Int] else {
            throw Unavailable(description: "unexpected answer from the token server's stats")
        }
        return (refreshes.mapValues(\.count), reuse, requests)
    }

    private func control(_ verb: String, _ body: [String: Any]) async throws -> Data {
        var request = URLRequest(url: baseURL.appendingPathComponent("control/\(verb)"))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw Unavailable(description: "token server refused control/\(verb)")
        }
        return data
    }
}
