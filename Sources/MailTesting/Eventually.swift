/// Waiting on a condition in a test: the one place where tests poll.
///
/// Tests wait for a row, a log line, a delivered message or an exited thread, never for a fixed
/// time. `until` checks `condition` at once and then again at `interval` until it holds (true) or
/// `timeout` has passed (false); the interval only bounds how late a met condition is noticed.
public enum Eventually {
    public static func until(timeout: Duration, interval: Duration = .milliseconds(10),
                             _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: interval)
        }
    }
}
