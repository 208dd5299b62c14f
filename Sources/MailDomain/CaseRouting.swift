import MailCore

/// What happens to an imported email on an account with Email-to-Case (pure).
public enum CaseRouting {
    public enum Action: Sendable, Equatable {
        /// Join this existing case (thread link or trusted `[#N]`).
        case join(caseID: Int64)
        /// Open a new case for the email.
        case create
        /// No case: keep the record link (if any).
        case linkOnly
    }

    /// A case named by `[#N]` in the subject that exists in the tenant.
    public struct TaggedCase: Sendable, Equatable {
        public var caseID: Int64
        /// The sender is the case's contact, its account or lead, a user, or a participant of an
        /// email already on the case.
        public var senderRelated: Bool
        public init(caseID: Int64, senderRelated: Bool) {
            self.caseID = caseID
            self.senderRelated = senderRelated
        }
    }

    /// - Thread links (token, stored parent) to a case join it; a thread linked to another record stays
    ///   there (it is not the first email of its thread).
    /// - Otherwise a `[#N]` tag joins case N when the sender is related to it, or any sender with
    ///   `trustAnySender` (`case.number_trust: any`).
    /// - Otherwise automatic mail (auto-replies, bounces) never creates a case; other mail does when the
    ///   account creates cases.
    public static func decide(link: LinkDecision?, tagged: TaggedCase?, trustAnySender: Bool, isAutomatic: Bool,
                              createsCases: Bool) -> Action {
        if let link, link.source.isThread {
            return link.record.type == .supportCase ? .join(caseID: link.record.id) : .linkOnly
        }
        guard createsCases else { return .linkOnly }
        if let tagged, tagged.senderRelated || trustAnySender { return .join(caseID: tagged.caseID) }
        return isAutomatic ? .linkOnly : .create
    }

    /// A customer's mail to a closed case reopens it when the account allows it: never automatic mail,
    /// never mail from one of the tenant's users.
    public static func reopens(status: String, closedStatuses: [String], reopenEnabled: Bool, isAutomatic: Bool,
                               senderIsUser: Bool) -> Bool {
        reopenEnabled && closedStatuses.contains(status) && !isAutomatic && !senderIsUser
    }
}

/// The storm breaker: per sender and tenant, at most N new cases and M reopenings within a window
/// (`case.sender_limit`). The count is kept in SQL (`mailroom_case_sender_take`); these rules say
/// when a slot is asked for and what its answer changes.
extension CaseRouting {
    /// What a mail takes a slot of.
    public enum BreakerSlot: String, Sendable, Equatable, CaseIterable {
        /// Opening a new case.
        case create
        /// Reopening a closed case.
        case reopen
    }

    /// The breaker's answer for one slot.
    public enum BreakerAnswer: String, Sendable, Equatable, CaseIterable {
        /// Under the limit: the slot was taken.
        case taken
        /// The first mail past the limit: held back, and the trip begins (logged once).
        case tripped
        /// A later mail of a trip: held back.
        case held

        /// Whether the mail may open or reopen its case.
        public var allows: Bool { self == .taken }
    }

    /// The slot `action` needs before it is carried out: only a new case takes one (joining an
    /// existing case takes none; a reopening takes a `reopen` slot once `reopens` said yes, and
    /// happens only when the answer `allows` it). Nil without a sender address: mail without one is
    /// never counted.
    public static func breakerSlot(for action: Action, sender: String?) -> BreakerSlot? {
        guard action == .create, let sender, !sender.isEmpty else { return nil }
        return .create
    }

    /// The action once the breaker answered for its slot: past the limit a new case becomes a plain
    /// link (the mail keeps its record link, opens nothing, and so gets no auto-reply).
    public static func limited(_ action: Action, by answer: BreakerAnswer?) -> Action {
        guard action == .create, let answer, !answer.allows else { return action }
        return .linkOnly
    }
}
