import MailDomain

extension Manifest {
    /// A user's own mailbox: polled like a group account; its mail lands in the owner's folders and is
    /// shared with the owner's default team (the team joined first). No cases, no auto-replies.
    public struct PersonalAccount: Sendable, Equatable {
        /// Unique among personal accounts of the tenant; the key later runs match on.
        public var name: String
        /// Username of the owner.
        public var owner: String
        public var address: EmailAddress
        public var active: Bool
        public var imap: IMAP
        public var smtp: SMTP?
        /// IMAP folder → the owner's folder (`inbox`, `sent`, or a folder name). Monitored folders not
        /// listed go to `inbox`; `imap.sent_folder` goes to `sent`.
        public var folderMap: [String: String]
        public var pollInterval: Duration
        public var maxMessageSize: Int

        public init(name: String, owner: String, address: EmailAddress, active: Bool = true, imap: IMAP, smtp: SMTP? = nil,
                    folderMap: [String: String] = [:], pollInterval: Duration = GroupAccount.defaultPollInterval,
                    maxMessageSize: Int = GroupAccount.defaultMaxMessageSize) {
            self.name = name
            self.owner = owner
            self.address = address
            self.active = active
            self.imap = imap
            self.smtp = smtp
            self.folderMap = folderMap
            self.pollInterval = pollInterval
            self.maxMessageSize = maxMessageSize
        }

        /// Each monitored folder with where its mail is filed for the owner.
        public var folderTargets: [(name: String, target: String)] {
            imap.folders.map { f in (f, folderMap[f] ?? (f == imap.sentFolder ? "sent" : "inbox")) }
        }
    }

    /// An email filter (see `EmailFilter`): global without `account` and `user`, else for that
    /// account (group or personal, by name) or that user's inbox (by username).
    public struct Filter: Sendable, Equatable {
        public var name: String
        public var scope: EmailFilter.Scope
        public var account: String?
        public var user: String?
        public var criteria: EmailFilter.Criteria
        public var action: EmailFilter.Action
        public var position: Int

        public init(name: String, scope: EmailFilter.Scope, account: String? = nil, user: String? = nil,
                    criteria: EmailFilter.Criteria, action: EmailFilter.Action, position: Int = 0) {
            self.name = name
            self.scope = scope
            self.account = account
            self.user = user
            self.criteria = criteria
            self.action = action
            self.position = position
        }
    }
}
