import MailCore

extension Manifest {
    /// Transport security for IMAP and SMTP.
    public enum Security: String, Sendable, Equatable, CaseIterable {
        /// Plain text; only allowed for loopback hosts, since the password would cross the network in clear.
        case none
        /// Plain connection upgraded with STARTTLS (RFC 3501 §6.2.1, RFC 3207); failure to upgrade is an error.
        case starttls
        /// TLS from the first byte (RFC 8314 implicit TLS).
        case tls
    }

    /// SMTP authentication mechanism (RFC 4954).
    public enum SMTPAuth: String, Sendable, Equatable, CaseIterable {
        case plain, login, none
        /// A bearer token of the account's OAuth grant (XOAUTH2 or OAUTHBEARER).
        case oauth2
    }

    /// A shared mailbox of the tenant (EspoCRM "Group Email Account"): mail fetched from it becomes emails of
    /// the tenant, may create cases and auto-replies, and users with permission may send from its address.
    public struct GroupAccount: Sendable, Equatable {
        /// Unique name within the tenant; the key that later manifest runs match on.
        public var name: String
        /// The mailbox address; unique across group accounts and user addresses.
        public var address: EmailAddress
        /// Display name in From headers; defaults to `name`.
        public var displayName: String
        /// Reply-To set on mail sent from this account.
        public var replyTo: EmailAddress?
        /// Inactive accounts are neither polled nor offered for sending.
        public var active: Bool
        public var imap: IMAP
        /// Absent: the account receives only.
        public var smtp: SMTP?
        /// Teams the account (and the emails it imports) belongs to.
        public var teams: [String]
        /// Time between polls; at least 10 s.
        public var pollInterval: Duration
        /// Messages larger than this many bytes are imported without body and attachments.
        public var maxMessageSize: Int
        public var caseRules: CaseRules
        public var autoReply: AutoReply
        /// Addresses that deliver to this mailbox without being a mailbox (Postfix aliases, forwarding
        /// addresses); unique like `address`. Mail naming one in To, Cc, `X-Original-To` or
        /// `Delivered-To` addresses the account when the tenant chooses a case's owner (`CaseOwner`).
        public var aliases: [EmailAddress]

        public static let defaultPollInterval = Duration.seconds(60)
        public static let minimumPollInterval = Duration.seconds(10)
        public static let defaultMaxMessageSize = 25 * 1024 * 1024

        public init(
            name: String, address: EmailAddress, displayName: String? = nil, replyTo: EmailAddress? = nil,
            active: Bool = true, imap: IMAP, smtp: SMTP? = nil, teams: [String] = [],
            pollInterval: Duration = GroupAccount.defaultPollInterval,
            maxMessageSize: Int = GroupAccount.defaultMaxMessageSize, caseRules: CaseRules = CaseRules(),
            autoReply: AutoReply? = nil, aliases: [EmailAddress] = []
        ) {
            self.name = name
            self.address = address
            self.displayName = displayName ?? name
            self.replyTo = replyTo
            self.active = active
            self.imap = imap
            self.smtp = smtp
            self.teams = teams
            self.pollInterval = pollInterval
            self.maxMessageSize = maxMessageSize
            self.caseRules = caseRules
            self.autoReply = autoReply ?? AutoReply(fromAddress: address, fromName: displayName ?? name)
            self.aliases = aliases
        }
    }

    /// Where and how to fetch a group account's mail.
    public struct IMAP: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var security: Security
        /// Verify the server certificate and host name; turn off only for test servers.
        public var verifyTLS: Bool
        public var username: String
        /// Nil exactly when `auth` is `.oauth2`.
        public var password: Secret?
        public var auth: IMAPAuth
        /// The tenant's OAuth client (`oauth_clients[].name`) when `auth` is `.oauth2`.
        public var oauthClient: String?
        /// Folders to import, in order.
        public var folders: [String]
        /// Import only messages received on or after this day (IMAP `SEARCH SINCE`); nil imports all.
        public var fetchSince: CalendarDate?
        /// Restore `\Seen` after fetching so the mailbox looks untouched to other clients.
        public var keepUnread: Bool
        /// Folder that receives copies of sent mail when `smtp.store_sent` is on.
        public var sentFolder: String?

        public static func defaultPort(for security: Security) -> Int { security == .tls ? 993 : 143 }

        public init(
            host: String, port: Int? = nil, security: Security = .tls, verifyTLS: Bool = true, username: String,
            password: Secret?, auth: IMAPAuth = .password, oauthClient: String? = nil, folders: [String] = ["INBOX"],
            fetchSince: CalendarDate? = nil, keepUnread: Bool = false, sentFolder: String? = nil
        ) {
            self.host = host
            self.port = port ?? Self.defaultPort(for: security)
            self.security = security
            self.verifyTLS = verifyTLS
            self.username = username
            self.password = password
            self.auth = auth
            self.oauthClient = oauthClient
            self.folders = folders
            self.fetchSince = fetchSince
            self.keepUnread = keepUnread
            self.sentFolder = sentFolder
        }
    }

    /// How to send as a group account.
    public struct SMTP: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var security: Security
        public var verifyTLS: Bool
        public var username: String
        /// Nil exactly when `auth` is `.none` or `.oauth2`.
        public var password: Secret?
        public var auth: SMTPAuth
        /// The tenant's OAuth client (`oauth_clients[].name`) when `auth` is `.oauth2`.
        public var oauthClient: String?
        /// Users with group-account permission may send through it (EspoCRM "Shared").
        public var shared: Bool
        /// Append each sent message to `imap.sent_folder`.
        public var storeSent: Bool
        /// Most SMTP connections one worker opens to the server at once (`smtp_max_connections`).
        public var maxConnections: Int
        /// Microsoft 365's limit of concurrent SMTP connections per mailbox, the strictest common one.
        public static let defaultMaxConnections = 3

        public static func defaultPort(for security: Security) -> Int { security == .tls ? 465 : 587 }

        public init(
            host: String, port: Int? = nil, security: Security = .tls, verifyTLS: Bool = true, username: String,
            password: Secret?, auth: SMTPAuth = .plain, oauthClient: String? = nil, shared: Bool = false,
            storeSent: Bool = false, maxConnections: Int = defaultMaxConnections
        ) {
            self.host = host
            self.port = port ?? Self.defaultPort(for: security)
            self.security = security
            self.verifyTLS = verifyTLS
            self.username = username
            self.password = password
            self.auth = auth
            self.oauthClient = oauthClient
            self.shared = shared
            self.storeSent = storeSent
            self.maxConnections = maxConnections
        }
    }
}
