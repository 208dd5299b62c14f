import Foundation
import MailCore

/// An account's OAuth grant (`oauth_grant`): its sealed tokens and its state. Tokens stay sealed here;
/// only the worker opens them, with the oauth-token key.
public struct OAuthGrantRecord: Sendable, Equatable {
    public enum State: String, Sendable, PostgresDecodable {
        case active
        /// The provider refused the grant (`invalid_grant`): someone must log in again.
        case reauthRequired = "reauth_required"
    }

    public var tenantID: TenantID
    public var accountID: AccountID
    public var refreshToken: [UInt8]
    public var accessToken: [UInt8]?
    public var accessExpiresAt: Date?
    /// What the provider said the access token lives (the refresh margin scales with it).
    public var accessLifetime: Duration?
    /// Increments with every new access token.
    public var generation: Int64
    public var state: State
    public var stateReason: String?
    /// No token request before this (backoff after a failed one).
    public var nextAttemptAt: Date?

    /// Associated data binding a sealed token to its row and column.
    public static func tokenContext(tenant: TenantID, account: AccountID, field: String) -> String {
        "oauth_grant/\(tenant)/\(account)/\(field)"
    }
}

/// A tenant's registered OAuth client (`oauth_client`).
public struct OAuthClientRecord: Sendable, Equatable {
    public enum Provider: String, Sendable, PostgresDecodable { case microsoft, google, generic }
    public var tenantID: TenantID
    public var id: Int64
    public var name: String
    public var provider: Provider
    public var clientID: String
    /// Sealed with the credentials key (context `oauth_client/<tenant>/<id>/client_secret`); nil for a public client.
    public var clientSecret: [UInt8]?
    public var tokenURL: String
    public var scopes: [String]
    /// RFC 8628 device authorization endpoint, when the provider offers the device flow.
    public var deviceAuthorizationURL: String? = nil
    /// The authorization endpoint (RFC 6749 §3.1), for the authorization code grant.
    public var authorizationURL: String? = nil

    public static func secretContext(tenant: TenantID, client: Int64) -> String {
        "oauth_client/\(tenant)/\(client)/client_secret"
    }
}
