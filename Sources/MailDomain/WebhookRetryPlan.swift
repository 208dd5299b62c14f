import Foundation

/// What a webhook endpoint does after a failed delivery (docs/webhooks.md): try again after an
/// exponential backoff with jitter, or, once the failures have lasted the endpoint's retry window,
/// stop and disable it. Pure: the worker records the decision.
public enum WebhookRetryPlan: Equatable, Sendable {
    case retry(at: Date)
    case disable

    public struct Backoff: Sendable, Equatable {
        /// The delay after the first failure, doubling with each consecutive one up to `cap`.
        public var base: Double
        public var cap: Double
        public init(base: Double = 5, cap: Double = 3600) {
            self.base = base
            self.cap = cap
        }
    }

    /// The plan after failure number `failures` (1 for the first of a run) of a run that began at
    /// `failingSince`, at `now`; `unit` in [0, 1) picks the jitter. The last retry is made at the
    /// window's end (never later), and a failure at or past it disables the endpoint.
    public static func afterFailure(failures: Int, failingSince: Date, now: Date, window: TimeInterval,
                                    backoff: Backoff, unit: Double) -> WebhookRetryPlan {
        let end = failingSince.addingTimeInterval(window)
        guard now < end else { return .disable }
        let delay = RetryBackoff.delay(attempt: failures, base: backoff.base, cap: backoff.cap, unit: unit)
        return .retry(at: min(now.addingTimeInterval(delay), end))
    }
}
