import MailCore
import MailDomain

extension Manifest {
    /// How an account logs in to IMAP.
    public enum IMAPAuth: String, Sendable, Equatable, CaseIterable {
        case password
        /// A bearer token of the account's OAuth grant (XOAUTH2 or OAUTHBEARER).
        case oauth2
    }

    /// A tenant's registered OAuth 2.0 client (`oauth_clients[]`), with the provider's preset already
    /// applied: every endpoint and the scopes are resolved.
    public struct OAuthClient: Sendable, Equatable {
        /// Unique name within the tenant; what accounts' `oauth_client` refers to.
        public var name: String
        public var provider: OAuthProvider
        public var clientID: String
        /// Nil for a public client.
        public var clientSecret: Secret?
        /// Microsoft's directory (`organizations`, `common` or a tenant id); kept for every provider.
        public var directory: String
        public var authorizationURL: String?
        public var tokenURL: String
        public var deviceAuthorizationURL: String?
        public var scopes: [String]
        /// When the client secret stops working (warned about 30 days before).
        public var secretExpiresAt: CalendarDate?

        public init(name: String, provider: OAuthProvider, clientID: String, clientSecret: Secret? = nil,
                    directory: String = OAuthProviderPreset.defaultMicrosoftDirectory, authorizationURL: String? = nil,
                    tokenURL: String, deviceAuthorizationURL: String? = nil, scopes: [String],
                    secretExpiresAt: CalendarDate? = nil) {
            self.name = name
            self.provider = provider
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.directory = directory
            self.authorizationURL = authorizationURL
            self.tokenURL = tokenURL
            self.deviceAuthorizationURL = deviceAuthorizationURL
            self.scopes = scopes
            self.secretExpiresAt = secretExpiresAt
        }

        /// The provider's servers, for accounts that leave host, port or security out.
        public var preset: OAuthProviderPreset? { OAuthProviderPreset.of(provider, directory: directory) }
    }
}
