import MailCore

/// Chooses the assignee of a new case (pure). The caller loads the eligible users and their open
/// case counts under the distribution pointer's row lock, and stores the choice as the new pointer.
public enum CaseDistribution {
    public enum Mode: String, Sendable, Equatable {
        case direct
        case roundRobin = "round_robin"
        case lessBusy = "less_busy"
    }

    public struct Candidate: Sendable, Equatable {
        public var userID: UserID
        /// Cases assigned to the user whose status is not closed.
        public var openCases: Int
        public init(_ userID: UserID, openCases: Int = 0) {
            self.userID = userID
            self.openCases = openCases
        }
    }

    /// - direct: `directUser` (the caller checked that it is active).
    /// - round_robin: the next eligible user after `last` in the stable order (ascending user id),
    ///   wrapping around; when `last` is no longer eligible, the first one with a higher id.
    /// - less_busy: the fewest open cases; ties go to the one that comes first in round-robin order.
    /// Returns nil when no one is eligible.
    public static func choose(_ mode: Mode, eligible: [Candidate], last: UserID?, directUser: UserID?) -> UserID? {
        switch mode {
        case .direct:
            return directUser
        case .roundRobin:
            return rotation(eligible, after: last).first?.userID
        case .lessBusy:
            let order = rotation(eligible, after: last)
            guard let fewest = order.map(\.openCases).min() else { return nil }
            return order.first { $0.openCases == fewest }?.userID
        }
    }

    /// The eligible users in the order round robin would assign them next.
    static func rotation(_ eligible: [Candidate], after last: UserID?) -> [Candidate] {
        let sorted = eligible.sorted { $0.userID < $1.userID }
        guard let last, let start = sorted.firstIndex(where: { $0.userID > last }) else { return sorted }
        return Array(sorted[start...] + sorted[..<start])
    }
}
