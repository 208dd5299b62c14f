import MailDomain
/// The desired state of one tenant, as written by an operator in YAML (see `docs/manifest.md`).
///
/// A `Manifest` is produced only by `ManifestParser`, which resolves defaults and `env:` secrets and checks
/// every cross reference, so holders can rely on: names unique per kind, every referenced team, position,
/// role, user, account and contact defined, email addresses valid and lowercased, and group account
/// settings complete for the features they switch on. It is pure data; applying it to a database is a
/// separate step.
public struct Manifest: Sendable, Equatable {
    /// Format version of the manifest; only 1 exists.
    public var version: Int
    public var tenant: Tenant
    public var teams: [Team]
    public var roles: [Role]
    public var users: [User]
    public var records: Records
    public var groupAccounts: [GroupAccount]
    /// Users' own mailboxes.
    public var personalAccounts: [PersonalAccount]
    /// Email filters of every scope.
    public var filters: [Filter]
    /// The tenant's OAuth 2.0 clients, which accounts with `auth: oauth2` log in through.
    public var oauthClients: [OAuthClient]
    /// Keys of the events pull API.
    public var apiKeys: [APIKeyEntry]
    /// Signed webhook endpoints receiving the tenant's events; applying deletes the tenant's others.
    public var webhooks: [Webhook]

    public init(
        version: Int = 1, tenant: Tenant, teams: [Team] = [], roles: [Role] = [], users: [User] = [],
        records: Records = Records(), groupAccounts: [GroupAccount] = [], personalAccounts: [PersonalAccount] = [],
        filters: [Filter] = [], oauthClients: [OAuthClient] = [], apiKeys: [APIKeyEntry] = [], webhooks: [Webhook] = []
    ) {
        self.version = version
        self.tenant = tenant
        self.teams = teams
        self.roles = roles
        self.users = users
        self.records = records
        self.groupAccounts = groupAccounts
        self.personalAccounts = personalAccounts
        self.filters = filters
        self.oauthClients = oauthClients
        self.apiKeys = apiKeys
        self.webhooks = webhooks
    }

    public func team(named name: String) -> Team? { teams.first { $0.name == name } }
    public func user(named username: String) -> User? { users.first { $0.username == username } }
    public func groupAccount(named name: String) -> GroupAccount? { groupAccounts.first { $0.name == name } }

    /// The tenant: its stable slug, display name and settings.
    public struct Tenant: Sendable, Equatable {
        /// Stable identifier: lowercase letters, digits and hyphens, starting with a letter, at most 63.
        public var slug: String
        /// Display name; defaults to the slug.
        public var name: String
        public var settings: Settings

        public init(slug: String, name: String? = nil, settings: Settings = Settings()) {
            self.slug = slug
            self.name = name ?? slug
            self.settings = settings
        }
    }

    /// Tenant-wide settings. Stored with the tenant; features that read them say so in `docs/manifest.md`.
    public struct Settings: Sendable, Equatable {
        /// Case statuses that count as closed (a reply to such a case may reopen it).
        public var closedCaseStatuses: [String]
        /// Business-to-consumer mode: contacts need no account; mail is linked to contacts and leads first.
        public var businessToConsumer: Bool
        /// How many personal email accounts one user may connect.
        public var maxPersonalAccounts: Int
        /// What the sanitised HTML of the tenant's emails does with remote images.
        public var remoteImages: RemoteImagePolicy
        /// How long mail queued on an OAuth account that needs a new login waits for one before it
        /// fails with the provider's reason (`tenant.oauth_send_wait`).
        public var oauthSendWait: Duration
        /// Whether the tenant's changes write events (`tenant.events_enabled`, docs/events.md).
        public var events: Bool
        /// How long its events are kept before the workers prune them (`tenant.event_retention`).
        public var eventRetention: Duration
        /// Soft bounces (distinct emails) within `softBounceWindow` that mark an address undeliverable
        /// (`tenant.soft_bounce_limit`, docs/bounces.md).
        public var softBounceLimit: Int
        /// The window soft bounces are counted in (`tenant.soft_bounce_window`).
        public var softBounceWindow: Duration

        public static let defaultClosedCaseStatuses = ["Closed", "Rejected", "Duplicate"]
        public static let defaultOAuthSendWait: Duration = .seconds(24 * 3600)
        /// The bounds of `oauth_send_wait`, as the column's CHECK constraint has them.
        public static let oauthSendWaitRange: ClosedRange<Duration> = .seconds(60) ... .seconds(30 * 86400)
        public static let defaultEventRetention: Duration = .seconds(30 * 86400)
        /// The bounds of `event_retention`: the column's CHECK has the lower one; a year at most.
        public static let eventRetentionRange: ClosedRange<Duration> = .seconds(3600) ... .seconds(366 * 86400)
        /// The bounds of `soft_bounce_limit` and `soft_bounce_window`, as the columns' CHECK constraints have them.
        public static let softBounceLimitRange: ClosedRange<Int> = 1 ... 100
        public static let defaultSoftBounceWindow: Duration = .seconds(7 * 86400)
        public static let softBounceWindowRange: ClosedRange<Duration> = .seconds(3600) ... .seconds(366 * 86400)

        public init(
            closedCaseStatuses: [String] = Settings.defaultClosedCaseStatuses, businessToConsumer: Bool = false,
            maxPersonalAccounts: Int = 2, remoteImages: RemoteImagePolicy = .allow,
            oauthSendWait: Duration = Settings.defaultOAuthSendWait, events: Bool = true,
            eventRetention: Duration = Settings.defaultEventRetention, softBounceLimit: Int = 3,
            softBounceWindow: Duration = Settings.defaultSoftBounceWindow
        ) {
            self.closedCaseStatuses = closedCaseStatuses
            self.businessToConsumer = businessToConsumer
            self.maxPersonalAccounts = maxPersonalAccounts
            self.remoteImages = remoteImages
            self.oauthSendWait = oauthSendWait
            self.events = events
            self.eventRetention = eventRetention
            self.softBounceLimit = softBounceLimit
            self.softBounceWindow = softBounceWindow
        }
    }
}
