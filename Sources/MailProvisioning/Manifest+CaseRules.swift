import MailStore

extension Manifest {
    /// How a new case is assigned (EspoCRM "Distribution").
    public enum Distribution: String, Sendable, Equatable, CaseIterable {
        /// To `assign_to`.
        case direct
        /// Rotating over the active users of `team` (with `position`, when set).
        case roundRobin = "round_robin"
        /// To the active user of `team` (with `position`) with the fewest open cases.
        case lessBusy = "less_busy"
    }

    /// Which senders may attach mail to an existing case by quoting its number (`[#42]`) in the subject.
    public enum NumberTrust: String, Sendable, Equatable, CaseIterable {
        /// Only senders related to the case (its contact, account or lead, or a user).
        case related
        /// Anyone; a stranger's mail joins the case.
        case any
    }

    /// Reopening a closed case when a new message for it arrives.
    public struct Reopen: Sendable, Equatable {
        public var enabled: Bool
        /// Status a reopened case gets; must not be a closed status.
        public var status: String

        public init(enabled: Bool = false, status: String = "Assigned") {
            self.enabled = enabled
            self.status = status
        }
    }

    /// Turning incoming mail into cases.
    public struct CaseRules: Sendable, Equatable {
        /// Create a case for each incoming message that belongs to no case yet.
        public var create: Bool
        public var distribution: Distribution
        /// Team the case belongs to; required for round robin and less busy.
        public var team: String?
        /// Restrict distribution to users holding this position of `team`.
        public var position: String?
        /// Username receiving every case under `direct` distribution; under `round_robin` and `less_busy`, the
        /// fallback when no active user of `team` (with `position`) is available.
        public var assignTo: String?
        /// Make the imported email visible to every user of the account's teams (EspoCRM "Add all team users").
        public var addAllTeamUsers: Bool
        public var reopen: Reopen
        public var numberTrust: NumberTrust
        /// The storm breaker: new cases and reopenings per sender and tenant within a window.
        public var senderLimit: SenderLimit
        /// When a message addresses several case-creating accounts of the tenant, the one with the
        /// highest priority owns its case (ties: the one named first); see `CaseOwner`.
        public var priority: Int

        public static let priorityRange = -1000...1000

        public init(
            create: Bool = false, distribution: Distribution = .direct, team: String? = nil, position: String? = nil,
            assignTo: String? = nil, addAllTeamUsers: Bool = true, reopen: Reopen = Reopen(),
            numberTrust: NumberTrust = .related, senderLimit: SenderLimit = SenderLimit(), priority: Int = 0
        ) {
            self.create = create
            self.distribution = distribution
            self.team = team
            self.position = position
            self.assignTo = assignTo
            self.addAllTeamUsers = addAllTeamUsers
            self.reopen = reopen
            self.numberTrust = numberTrust
            self.senderLimit = senderLimit
            self.priority = priority
        }
    }

    /// The storm breaker's limits, as stored (`MailStore.SenderLimit`, whose ranges are the columns' CHECKs).
    public typealias SenderLimit = MailStore.SenderLimit

    /// Automatic answer to incoming mail, rate limited per sender so two auto-responders cannot loop.
    public struct AutoReply: Sendable, Equatable {
        /// Placeholders a template may use; `case.*` only when the account creates cases.
        public static let placeholders = ["subject", "case.number", "case.name", "from.name", "from.address"]
        public static let defaultSubject = "Re: {{subject}}"

        public var enabled: Bool
        /// Template; see `placeholders`.
        public var subject: String
        /// Plain-text template; required when enabled.
        public var body: String
        /// Defaults to the group account's address.
        public var fromAddress: EmailAddress
        /// Defaults to the group account's display name.
        public var fromName: String
        public var replyTo: EmailAddress?
        public var limit: Limit

        public init(
            enabled: Bool = false, subject: String = AutoReply.defaultSubject, body: String = "",
            fromAddress: EmailAddress, fromName: String, replyTo: EmailAddress? = nil, limit: Limit = Limit()
        ) {
            self.enabled = enabled
            self.subject = subject
            self.body = body
            self.fromAddress = fromAddress
            self.fromName = fromName
            self.replyTo = replyTo
            self.limit = limit
        }
    }

    /// At most `count` auto-replies to one sender address within `window`.
    public struct Limit: Sendable, Equatable {
        public var count: Int
        public var window: Duration

        public init(count: Int = 2, window: Duration = .seconds(2 * 3600)) {
            self.count = count
            self.window = window
        }
    }
}
