import Foundation

/// Thrown by a handler whose job cannot do its work yet for a reason outside it (an account waiting
/// for a new OAuth login): the job runs again at `until`, and the attempt is not counted, so the
/// wait is bounded by the handler's own rule instead of by the job's attempts.
public struct JobPostponed: Error, CustomStringConvertible, Sendable {
    public let until: Date
    /// Why, for the job's `last_error` (log-safe).
    public let reason: String

    public init(until: Date, reason: String) {
        self.until = until
        self.reason = reason
    }

    public var description: String { "postponed: \(reason)" }
}
