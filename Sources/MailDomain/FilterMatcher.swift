/// Decides what filters do to a message. Pure: the importer loads filters, asks, and acts.
///
/// Global and account filters: a message matched by any skip filter is skipped (skip beats folder,
/// so a decision taken from the header block alone never changes once the body is known); else the
/// first matching folder filter (global before account, then by position) names its group folder.
/// User filters: every matching filter acts, combined (trash, first folder, read, no notification).
public enum FilterMatcher {
    /// Whether all present criteria match. Body criteria never match a message without a body.
    public static func matches(_ c: EmailFilter.Criteria, _ m: FilterMessage) -> Bool {
        if let p = c.from, !m.from.contains(where: { Wildcard(p).matchesFolded(Array($0)) }) { return false }
        if let p = c.toOrCc, !m.toOrCc.contains(where: { Wildcard(p).matchesFolded(Array($0)) }) { return false }
        if let p = c.subject, !Wildcard(p).matchesFolded(Array(m.subject)) { return false }
        if let h = c.header {
            let w = Wildcard(h.pattern)
            guard m.headerValues(TextFold.fold(h.name)).contains(where: { w.matchesFolded(Array($0)) }) else { return false }
        }
        if c.needsBody {
            guard let body = m.body else { return false }
            if !c.bodyContainsAny.isEmpty, !c.bodyContainsAny.contains(where: { body.contains(TextFold.fold($0)) }) { return false }
            if !c.bodyContainsAll.allSatisfy({ body.contains(TextFold.fold($0)) }) { return false }
        }
        return true
    }

    /// What global and account filters decide for a message of an account.
    public enum AccountDecision: Sendable, Equatable {
        case keep
        /// Not imported; the name of the first skip filter that matched, for logs.
        case skip(filter: String)
        case groupFolder(String)
    }

    /// Global and account filters in the order they are applied (global first, then by position).
    public static func ordered(_ filters: [EmailFilter]) -> [EmailFilter] {
        filters.filter { $0.scope != .user }.sorted {
            ($0.scope == .global ? 0 : 1, $0.position, $0.id) < ($1.scope == .global ? 0 : 1, $1.position, $1.id)
        }
    }

    /// The decision that the header block alone allows: `.skip` when a filter without body criteria
    /// skips the message, else `.keep` (meaning: fetch the body and decide again with `decide`).
    public static func decideBeforeDownload(_ filters: [EmailFilter], header m: FilterMessage) -> AccountDecision {
        for f in ordered(filters) where f.action == .skip && !f.criteria.needsBody && matches(f.criteria, m) {
            return .skip(filter: f.name)
        }
        return .keep
    }

    /// The decision for a parsed message.
    public static func decide(_ filters: [EmailFilter], _ m: FilterMessage) -> AccountDecision {
        let ordered = ordered(filters)
        if let f = ordered.first(where: { $0.action == .skip && matches($0.criteria, m) }) { return .skip(filter: f.name) }
        for f in ordered {
            if case .folder(let folder) = f.action, matches(f.criteria, m) { return .groupFolder(folder) }
        }
        return .keep
    }

    /// Whether any global or account filter could decide from the header block alone (only then is
    /// the header fetched before the body).
    public static func hasHeaderOnlySkip(_ filters: [EmailFilter]) -> Bool {
        filters.contains { $0.scope != .user && $0.action == .skip && !$0.criteria.needsBody }
    }

    /// What one user's filters do to their copy of a message.
    public struct UserActions: Sendable, Equatable {
        public var trash = false
        public var folder: String?
        public var markRead = false
        public var noNotify = false
        public init(trash: Bool = false, folder: String? = nil, markRead: Bool = false, noNotify: Bool = false) {
            self.trash = trash
            self.folder = folder
            self.markRead = markRead
            self.noNotify = noNotify
        }
        public var isEmpty: Bool { !trash && folder == nil && !markRead && !noNotify }
    }

    /// Combines every matching filter of one user (`filters` should all be that user's).
    public static func userActions(_ filters: [EmailFilter], _ m: FilterMessage) -> UserActions {
        var out = UserActions()
        for f in filters.filter({ $0.scope == .user }).sorted(by: { ($0.position, $0.id) < ($1.position, $1.id) })
        where matches(f.criteria, m) {
            switch f.action {
            case .skip: out.trash = true
            case .folder(let folder): if out.folder == nil { out.folder = folder }
            case .markRead: out.markRead = true
            case .noNotify: out.noNotify = true
            }
        }
        return out
    }
}
