/// Exponential backoff with jitter for failed jobs: base · 2^(attempt-1), capped, then spread by
/// ±`jitter` so jobs that failed together (a server outage) do not retry in lockstep.
public enum RetryBackoff {
    /// - Parameters:
    ///   - attempt: the attempt that just failed, from 1.
    ///   - unit: a number in [0, 1) that picks the point in the jitter range (random in production).
    public static func delay(attempt: Int, base: Double, cap: Double, jitter: Double = 0.2, unit: Double) -> Double {
        let exponent = min(max(attempt - 1, 0), 30)
        let raw = min(base * Double(1 << exponent), cap)
        let spread = raw * jitter
        return max(0, raw - spread + 2 * spread * unit)
    }
}
