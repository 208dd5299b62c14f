import Foundation
import MailCore
import MailDomain
import MailStore
import MailTransport

/// An operator's login for an account with the device authorization grant (RFC 8628):
/// `mailroom oauth login`. The verification URI and user code are shown to the operator, who approves
/// on any device; meanwhile the token endpoint is polled at the server's interval. The tokens are
/// stored as the account's grant (`OAuthTokens.storeLogin`).
public struct OAuthDeviceLogin: Sendable {
    let tokens: OAuthTokens
    let sleep: @Sendable (Duration) async throws -> Void

    public init(tokens: OAuthTokens, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.tokens = tokens
        self.sleep = sleep
    }

    /// The account's client, when it offers the device flow; nil when it has no device authorization URL.
    public func client(tenant: TenantID, id: Int64) async throws -> OAuthClientRecord? {
        try await tokens.pool.transaction(tenant: tenant) { try OAuthGrantQueries.clientGet($0, tenant: tenant, id: id) }
    }

    /// Asks the client's device authorization endpoint for a user code (RFC 8628 §3.1).
    public func start(client: OAuthClientRecord) async throws -> DeviceAuthorization.Start {
        guard let url = client.deviceAuthorizationURL else { throw DeviceFlowError(description: "the OAuth client has no device_authorization_url") }
        let form = client.scopes.isEmpty ? [] : [("scope", client.scopes.joined(separator: " "))]
        // Blocking: on a connection's own thread, never the cooperative pool.
        let http = try await tokens.pool.withConnection { _ in try tokens.post(form, to: url, client: client) }
        return try DeviceAuthorization.interpretStart(status: http.status, contentType: http.contentType, body: http.body).get()
    }

    /// Polls the token endpoint until the login is approved, refused or expired (RFC 8628 §3.4, §3.5),
    /// then stores it. Returns the access token's lifetime in seconds.
    public func finish(_ start: DeviceAuthorization.Start, client: OAuthClientRecord, account: AccountID) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(start.expiresIn)
        var interval = start.interval
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", start.deviceCode)]
        while true {
            let step: DeviceAuthorization.Step
            do {
                let http = try await tokens.pool.withConnection { _ in try tokens.post(form, to: client.tokenURL, client: client) }
                step = DeviceAuthorization.step(status: http.status, contentType: http.contentType, retryAfter: http.retryAfter,
                                                body: http.body, interval: interval)
            } catch let error as TransportError {
                // A network blip is no answer: keep polling until the code expires (§3.5).
                tokens.logger.warning("OAuth token endpoint unreachable", metadata: ["error": "\(error)"])
                step = .wait(interval: interval)
            }
            switch step {
            case .tokens(let access, let refresh?, let expiresIn):
                try await tokens.pool.transaction(tenant: client.tenantID) { conn in
                    try tokens.storeVerifiedLogin(conn, tenant: client.tenantID, account: account, accessToken: access,
                                                  refreshToken: refresh, expiresIn: expiresIn)
                }
                return expiresIn
            case .tokens(_, nil, _):
                throw DeviceFlowError(description: "the provider issued no refresh token (offline access was not granted)")
            case .fail(let reason):
                throw DeviceFlowError(description: reason)
            case .wait(let next):
                interval = next
                guard ContinuousClock.now + .seconds(interval) < deadline else {
                    throw DeviceFlowError(description: "the device code expired before the login was approved: run the command again")
                }
                try await sleep(.seconds(interval))
            }
        }
    }
}
