import Foundation
import MailDomain
import Testing

/// After a failed webhook delivery: retry with a growing, jittered delay, never past the window's
/// end, and disable once a failure comes at or after it.
@Suite struct WebhookRetryPlanTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let backoff = WebhookRetryPlan.Backoff(base: 5, cap: 3600)

    func plan(_ failures: Int, after seconds: Double, window: Double = 86_400, unit: Double = 0.5) -> WebhookRetryPlan {
        WebhookRetryPlan.afterFailure(failures: failures, failingSince: start, now: start.addingTimeInterval(seconds),
                                      window: window, backoff: backoff, unit: unit)
    }

    @Test func delaysDoubleUpToTheCapWithJitter() {
        #expect(plan(1, after: 0) == .retry(at: start.addingTimeInterval(5)))
        #expect(plan(2, after: 5) == .retry(at: start.addingTimeInterval(15)))
        #expect(plan(3, after: 15) == .retry(at: start.addingTimeInterval(35)))
        #expect(plan(30, after: 100) == .retry(at: start.addingTimeInterval(3700)))
        // ±20 %: the lowest and highest points of the range.
        #expect(plan(1, after: 0, unit: 0) == .retry(at: start.addingTimeInterval(4)))
        #expect(plan(1, after: 0, unit: 0.999_999).retryDelay(from: start).map { $0 > 5.99 && $0 < 6 } == true)
    }

    @Test func theLastRetryIsAtTheWindowsEndAndAFailureThereDisables() {
        #expect(plan(10, after: 86_000) == .retry(at: start.addingTimeInterval(86_400)))
        #expect(plan(11, after: 86_400) == .disable)
        #expect(plan(1, after: 10, window: 5) == .disable)
    }
}

extension WebhookRetryPlan {
    func retryDelay(from start: Date) -> Double? {
        if case .retry(let at) = self { return at.timeIntervalSince(start) }
        return nil
    }
}
