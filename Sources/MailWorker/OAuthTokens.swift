import Foundation
import Logging
import MailCore
import MailCrypto
import MailDomain
import MailStore
import MailTransport

/// Why an OAuth account has no usable access token right now. Never carries a token.
public struct OAuthUnavailable: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The provider refused the grant (revoked, password changed, consent withdrawn), or there was
        /// never a login: someone must log in again. Polls and sends stop asking the provider.
        case reauthRequired
        /// The token endpoint failed (down, throttling, a malformed answer) and the last token has
        /// expired: try again later.
        case temporary
    }
    public let kind: Kind
    public let reason: String
    public var description: String {
        kind == .reauthRequired ? "OAuth login needed again: \(reason)" : "OAuth token unavailable: \(reason)"
    }
}

/// Access tokens of the accounts that log in with OAuth 2.0 (docs/oauth.md).
///
/// - A token is refreshed ahead of its expiry (`TokenRefreshTiming`), or when a server refused a
///   token believed valid (`rejected:`), once.
/// - One refresher per account across every replica: the refresh runs in a transaction holding the
///   grant row's lock; a replica that needs the token meanwhile waits on that lock and then uses the
///   token the first one stored.
/// - A rotated refresh token is committed, with the new access token, before either is used.
/// - `invalid_grant` puts the grant in `reauth_required` (the admins or the owner are told once); from
///   then on no token request is made until a new login.
/// - A failing endpoint (5xx, 429 with Retry-After, timeouts, garbage) changes no state: the valid
///   access token keeps being used, and the next request waits for a backoff with jitter.
///
/// The one window left: the provider answered a refresh with a rotated refresh token and the worker
/// died before the commit. The old refresh token is then spent at a strictly rotating provider; the next
/// refresh gets `invalid_grant` and the account shows `reauth_required` with the provider's reason,
/// visible in status and notified, until someone logs in again.
public struct OAuthTokens: Sendable {
    let pool: PostgresPool
    let tokenBox: SecretBox
    let credentials: SecretBox
    let policy: OutboundPolicy
    let logger: Logger
    let now: @Sendable () -> Date

    /// Pause after a failed token request without a Retry-After (jittered ±20 %).
    public static let retryDelay: Double = 30

    public init(pool: PostgresPool, keyring: SecretKeyring, policy: OutboundPolicy, logger: Logger,
                now: @escaping @Sendable () -> Date = Date.init) {
        self.pool = pool
        self.tokenBox = SecretBox(keyring: keyring, purpose: .oauthToken)
        self.credentials = SecretBox(keyring: keyring)
        self.policy = policy
        self.logger = logger
        self.now = now
    }

    public struct Token: Sendable {
        public let value: Secret
        /// Which token this is: a server refusing it asks for a newer one with `rejected: generation`.
        public let generation: Int64
    }

    enum Outcome: Sendable {
        case token(Token)
        case unavailable(OAuthUnavailable)
    }

    /// A usable access token for `account` (whose OAuth client is `client`). `rejected`: the generation
    /// of a token the server just refused although it looked valid; a newer one is fetched, once.
    public func accessToken(tenant: TenantID, account: AccountID, client: Int64, rejected: Int64? = nil) async throws -> Token {
        let fast = try await pool.transaction(tenant: tenant) { conn -> Outcome? in
            guard let grant = try OAuthGrantQueries.grantGet(conn, tenant: tenant, account: account) else { return Self.noLogin }
            if grant.state == .reauthRequired { return .unavailable(Self.reauth(grant.stateReason)) }
            return try usable(grant, rejected: rejected).map { .token($0) }
        }
        if let fast { return try fast.get() }
        let outcome = try await pool.transaction(tenant: tenant) { conn in
            try refreshLocked(conn, tenant: tenant, account: account, client: client, rejected: rejected)
        }
        return try outcome.get()
    }

    /// The refresh, inside the transaction that holds the grant's row lock (on the connection's own
    /// thread: the HTTP request blocks it, never the cooperative pool).
    func refreshLocked(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, client: Int64, rejected: Int64?) throws -> Outcome {
        guard let grant = try OAuthGrantQueries.grantGet(conn, tenant: tenant, account: account, lock: true) else { return Self.noLogin }
        if grant.state == .reauthRequired { return .unavailable(Self.reauth(grant.stateReason)) }
        // Another replica refreshed while this one waited for the lock.
        if let token = try usable(grant, rejected: rejected) { return .token(token) }
        if let next = grant.nextAttemptAt, next > now() { return try fallback(grant, rejected: rejected, reason: "waiting to retry the token endpoint") }
        guard let oauthClient = try OAuthGrantQueries.clientGet(conn, tenant: tenant, id: client) else {
            return .unavailable(OAuthUnavailable(kind: .reauthRequired, reason: "the account's OAuth client is gone"))
        }
        let refreshToken = try tokenBox.openSecret(grant.refreshToken, context: context(tenant, account, "refresh_token"))
        switch try redeem(refreshToken, client: oauthClient) {
        case .tokens(let access, let refresh, let expiresIn, _):
            let lifetime = Duration.seconds(expiresIn)
            let expiresAt = now().addingTimeInterval(Double(expiresIn))
            // Rotated refresh token and new access token in one commit, before either is used.
            let generation = try OAuthGrantQueries.grantStoreRefresh(
                conn, tenant: tenant, account: account,
                accessToken: try tokenBox.seal(Secret(access), context: context(tenant, account, "access_token")),
                expiresAt: expiresAt, lifetime: lifetime,
                rotatedRefreshToken: try refresh.map { try tokenBox.seal(Secret($0), context: context(tenant, account, "refresh_token")) })
            logger.info("OAuth token refreshed", metadata: ["tenant_id": "\(tenant)", "account_id": "\(account)",
                                                            "expires_in": "\(expiresIn)", "rotated": "\(refresh != nil)"])
            return .token(Token(value: Secret(access), generation: generation))
        case .invalidGrant(let reason):
            if try OAuthGrantQueries.grantRequireReauth(conn, tenant: tenant, account: account, reason: reason) {
                let told = try NotificationQueries.notificationCreateSMTPFailure(conn, tenant: tenant, account: account, error: reason,
                                                                                 kind: "oauth_reauth_required")
                logger.error("OAuth grant refused: the account needs a new login",
                             metadata: ["tenant_id": "\(tenant)", "account_id": "\(account)", "reason": "\(reason)", "notified_users": "\(told)"])
            }
            return .unavailable(Self.reauth(reason))
        case .retryLater(let reason, let after):
            try recordFailure(conn, tenant: tenant, account: account, reason: reason, after: after)
            return try fallback(grant, rejected: rejected, reason: reason)
        case .failed(let reason):
            try recordFailure(conn, tenant: tenant, account: account, reason: reason, after: nil)
            return try fallback(grant, rejected: rejected, reason: reason)
        }
    }

    /// Redeems a refresh token at the client's token endpoint (RFC 6749 §6). Blocking: call it on a
    /// connection's or an I/O thread. A transport failure reads as "retry later".
    func redeem(_ refreshToken: Secret, client: OAuthClientRecord) throws -> OAuthTokenAnswer {
        var form = [("grant_type", "refresh_token"), ("refresh_token", refreshToken.value)]
        if !client.scopes.isEmpty { form.append(("scope", client.scopes.joined(separator: " "))) }
        do {
            let http = try post(form, to: client.tokenURL, client: client)
            return OAuthTokenAnswer.interpret(status: http.status, contentType: http.contentType, retryAfter: http.retryAfter, body: http.body)
        } catch let error as TransportError {
            return .retryLater(reason: "\(error)", after: nil)
        }
    }

    /// POSTs `form` with the client's credentials (`client_id`, and `client_secret` for a confidential
    /// client) to `url` through the outbound policy. Blocking. A `TransportError` names the host and
    /// what failed, never a form value.
    func post(_ form: [(String, String)], to url: String, client: OAuthClientRecord) throws -> HTTPAnswer {
        var form = form + [("client_id", client.clientID)]
        if let sealed = client.clientSecret {
            form.append(("client_secret", try credentials.openSecret(sealed, context: OAuthClientRecord.secretContext(tenant: client.tenantID, client: client.id)).value))
        }
        return try OAuthHTTP.postForm(OAuthEndpoint(url: url, policy: policy), form)
    }

    /// Stores a new login's tokens as the account's grant (active again, whatever its state was), sealed
    /// with the oauth-token key and bound to the row. `refreshToken` is required: a login without one
    /// could not outlive its first access token.
    func storeLogin(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, accessToken: String, refreshToken: String,
                    expiresIn: Int) throws {
        try OAuthGrantQueries.grantStoreLogin(
            conn, tenant: tenant, account: account,
            refreshToken: try tokenBox.seal(Secret(refreshToken), context: context(tenant, account, "refresh_token")),
            accessToken: try tokenBox.seal(Secret(accessToken), context: context(tenant, account, "access_token")),
            expiresAt: now().addingTimeInterval(Double(expiresIn)), lifetime: .seconds(expiresIn))
    }

    /// Moving a mailbox from another system: redeems `refreshToken` at once (so a wrong or revoked one
    /// is refused now, not at the first poll) and stores the login; the grant is active again, whatever
    /// its state was. Returns the access token's lifetime in seconds.
    public func importLogin(tenant: TenantID, account: AccountID, client: Int64, refreshToken: Secret) async throws -> Int {
        let result = try await pool.transaction(tenant: tenant) { conn -> Result<Int, OAuthUnavailable> in
            guard let oauthClient = try OAuthGrantQueries.clientGet(conn, tenant: tenant, id: client) else {
                return .failure(OAuthUnavailable(kind: .reauthRequired, reason: "the account's OAuth client is gone"))
            }
            switch try redeem(refreshToken, client: oauthClient) {
            case .tokens(let access, let rotated, let expiresIn, _):
                try storeVerifiedLogin(conn, tenant: tenant, account: account, accessToken: access,
                                       refreshToken: rotated ?? refreshToken.value, expiresIn: expiresIn)
                return .success(expiresIn)
            case .invalidGrant(let reason):
                return .failure(OAuthUnavailable(kind: .reauthRequired, reason: "the provider refused the refresh token: \(reason)"))
            case .retryLater(let reason, _), .failed(let reason):
                return .failure(OAuthUnavailable(kind: .temporary, reason: reason))
            }
        }
        return try result.get()
    }

    /// The grant's access token when it is valid, not due for refresh and not the rejected one.
    func usable(_ grant: OAuthGrantRecord, rejected: Int64?) throws -> Token? {
        guard let sealed = grant.accessToken, let expires = grant.accessExpiresAt, grant.generation != rejected,
              !TokenRefreshTiming.isDue(expiresAt: expires, lifetime: grant.accessLifetime ?? .seconds(3600), now: now()) else { return nil }
        return Token(value: try tokenBox.openSecret(sealed, context: context(grant.tenantID, grant.accountID, "access_token")),
                     generation: grant.generation)
    }

    /// After a failed or postponed request: the current token while it has not expired (and was not
    /// refused), else a temporary failure.
    func fallback(_ grant: OAuthGrantRecord, rejected: Int64?, reason: String) throws -> Outcome {
        if let sealed = grant.accessToken, let expires = grant.accessExpiresAt, expires > now(), grant.generation != rejected {
            let value = try tokenBox.openSecret(sealed, context: context(grant.tenantID, grant.accountID, "access_token"))
            return .token(Token(value: value, generation: grant.generation))
        }
        return .unavailable(OAuthUnavailable(kind: .temporary, reason: reason))
    }

    func recordFailure(_ conn: PostgresConnection, tenant: TenantID, account: AccountID, reason: String, after: Int?) throws {
        let pause = max(Double(after ?? 0), RetryBackoff.delay(attempt: 1, base: Self.retryDelay, cap: Self.retryDelay, unit: Double.random(in: 0..<1)))
        try OAuthGrantQueries.grantRecordFailure(conn, tenant: tenant, account: account, error: reason, nextAttemptAt: now().addingTimeInterval(pause))
        logger.warning("OAuth token request failed", metadata: ["tenant_id": "\(tenant)", "account_id": "\(account)", "reason": "\(reason)",
                                                                "retry_in_s": "\(Int(pause))"])
    }

    func context(_ tenant: TenantID, _ account: AccountID, _ field: String) -> String {
        OAuthGrantRecord.tokenContext(tenant: tenant, account: account, field: field)
    }

    static let noLogin = Outcome.unavailable(OAuthUnavailable(kind: .reauthRequired, reason: "the account has no OAuth login yet"))

    static func reauth(_ reason: String?) -> OAuthUnavailable {
        OAuthUnavailable(kind: .reauthRequired, reason: reason ?? "the provider refused the grant")
    }
}

extension OAuthTokens.Outcome {
    func get() throws -> OAuthTokens.Token {
        switch self {
        case .token(let token): return token
        case .unavailable(let why): throw why
        }
    }
}
