/// The OAuth 2.0 providers a tenant's client can be registered with (`oauth_client.provider`).
public enum OAuthProvider: String, Sendable, Equatable, CaseIterable {
    case microsoft, google, generic
}

/// What a provider's registration implies when the manifest does not say otherwise: its endpoints,
/// the scopes a mailbox login needs, and its IMAP and SMTP servers. Pure table; `generic` has none
/// (its `token_url` and `scopes` must be given).
public struct OAuthProviderPreset: Sendable, Equatable {
    /// Transport security of a preset server, as `mail_account.imap_security` / `smtp_security` spell it.
    public enum Security: String, Sendable, Equatable { case tls, starttls }

    public struct Server: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var security: Security

        public init(host: String, port: Int, security: Security) {
            self.host = host
            self.port = port
            self.security = security
        }
    }

    public var authorizationURL: String
    public var tokenURL: String
    public var deviceAuthorizationURL: String
    public var scopes: [String]
    public var imap: Server
    public var smtp: Server

    /// Microsoft's directory for multi-tenant apps: any work or school account.
    public static let defaultMicrosoftDirectory = "organizations"

    /// The preset of `provider`; `directory` is Microsoft's (`organizations`, `common` or a tenant id).
    /// Nil for `generic`.
    public static func of(_ provider: OAuthProvider, directory: String = defaultMicrosoftDirectory) -> OAuthProviderPreset? {
        switch provider {
        case .microsoft:
            let base = "https://login.microsoftonline.com/\(directory)/oauth2/v2.0"
            return OAuthProviderPreset(
                authorizationURL: "\(base)/authorize", tokenURL: "\(base)/token", deviceAuthorizationURL: "\(base)/devicecode",
                scopes: ["https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"],
                imap: Server(host: "outlook.office365.com", port: 993, security: .tls),
                smtp: Server(host: "smtp.office365.com", port: 587, security: .starttls))
        case .google:
            return OAuthProviderPreset(
                authorizationURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
                deviceAuthorizationURL: "https://oauth2.googleapis.com/device/code", scopes: ["https://mail.google.com/"],
                imap: Server(host: "imap.gmail.com", port: 993, security: .tls),
                smtp: Server(host: "smtp.gmail.com", port: 587, security: .starttls))
        case .generic:
            return nil
        }
    }
}
