import MailCore

/// A filter as stored in `email_filter`: optional criteria that must all match, and one action.
///
/// Scopes: `global` (every account of the tenant), `account` (one account) and `user` (one user's
/// copy of any mail reaching them). Global and account filters skip a message (it is not imported)
/// or file it in a group folder; user filters act on the user's own state only.
public struct EmailFilter: Sendable, Equatable {
    public enum Scope: String, Sendable, Equatable, CaseIterable {
        case global, account, user
    }

    public enum Action: Sendable, Equatable {
        /// Global/account: not imported at all (counted). User: into that user's trash.
        case skip
        /// Global/account: into this group folder. User: into this folder of the user.
        case folder(String)
        /// User only: the user's copy is marked read.
        case markRead
        /// User only: the user gets no notification for it.
        case noNotify

        /// The `email_filter.action` value.
        public var kind: String {
            switch self {
            case .skip: "skip"
            case .folder: "folder"
            case .markRead: "mark_read"
            case .noNotify: "no_notify"
            }
        }

        /// Rebuilds an action from its `kind` and folder; nil for an unknown kind or a folder action
        /// without a folder.
        public init?(kind: String, folder: String?) {
            switch kind {
            case "skip": self = .skip
            case "folder": guard let folder else { return nil }; self = .folder(folder)
            case "mark_read": self = .markRead
            case "no_notify": self = .noNotify
            default: return nil
            }
        }

        public var folder: String? { if case .folder(let f) = self { f } else { nil } }
    }

    /// What a message must look like. Absent criteria are ignored; present ones must all match.
    public struct Criteria: Sendable, Equatable {
        /// Wildcard pattern over the From addresses.
        public var from: String?
        /// Wildcard pattern over the To and Cc addresses (any one matching is enough).
        public var toOrCc: String?
        /// Wildcard pattern over the subject.
        public var subject: String?
        /// A header by name (case-insensitive) whose value matches a wildcard pattern.
        public var header: HeaderCriterion?
        /// The body contains at least one of these.
        public var bodyContainsAny: [String]
        /// The body contains every one of these.
        public var bodyContainsAll: [String]

        public struct HeaderCriterion: Sendable, Equatable {
            public var name: String
            public var pattern: String
            public init(name: String, pattern: String) {
                self.name = name
                self.pattern = pattern
            }
        }

        public init(from: String? = nil, toOrCc: String? = nil, subject: String? = nil, header: HeaderCriterion? = nil,
                    bodyContainsAny: [String] = [], bodyContainsAll: [String] = []) {
            self.from = from
            self.toOrCc = toOrCc
            self.subject = subject
            self.header = header
            self.bodyContainsAny = bodyContainsAny
            self.bodyContainsAll = bodyContainsAll
        }

        /// True when nothing is asked: such a filter would match every message and is refused.
        public var isEmpty: Bool {
            from == nil && toOrCc == nil && subject == nil && header == nil && bodyContainsAny.isEmpty && bodyContainsAll.isEmpty
        }

        /// True when the body is needed to decide; otherwise the header block is enough.
        public var needsBody: Bool { !bodyContainsAny.isEmpty || !bodyContainsAll.isEmpty }
    }

    public var id: Int64
    public var name: String
    public var scope: Scope
    public var accountID: AccountID?
    public var userID: UserID?
    public var criteria: Criteria
    public var action: Action
    /// Order within a scope: lower first.
    public var position: Int

    public init(id: Int64 = 0, name: String, scope: Scope, accountID: AccountID? = nil, userID: UserID? = nil,
                criteria: Criteria, action: Action, position: Int = 0) {
        self.id = id
        self.name = name
        self.scope = scope
        self.accountID = accountID
        self.userID = userID
        self.criteria = criteria
        self.action = action
        self.position = position
    }

    /// Why a filter cannot be stored, in words; nil when it is valid.
    public var problem: String? {
        if criteria.isEmpty { return "has no criteria: give at least one of from, to, subject, header, body_any, body_all" }
        switch (scope, action) {
        case (.global, .markRead), (.global, .noNotify), (.account, .markRead), (.account, .noNotify):
            return "action \(action.kind) is only for user filters"
        default:
            return nil
        }
    }
}
