import Foundation
import Synchronization

/// Counters and gauges of one replica, rendered in the Prometheus text format.
public final class WorkerMetrics: Sendable {
    private struct State {
        var claimed: [String: Int] = [:]
        var done: [String: Int] = [:]
        var failed: [String: Int] = [:]
        var imapErrors: [String: Int] = [:]
        var queueDepth: [String: Int] = [:]
        var pollLagSeconds: [String: Double] = [:]
        var oauthClientSecretsExpiring: [String: Int] = [:]
        var oauthReauthRequired: [String: Int] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    func claimed(kind: String) { state.withLock { $0.claimed[kind, default: 0] += 1 } }
    func finished(kind: String, ok: Bool) {
        state.withLock { if ok { $0.done[kind, default: 0] += 1 } else { $0.failed[kind, default: 0] += 1 } }
    }
    func imapError(tenant: String) { state.withLock { $0.imapErrors[tenant, default: 0] += 1 } }
    public func setQueueDepth(_ depth: [String: Int]) { state.withLock { $0.queueDepth = depth } }
    public func setPollLag(_ lag: [String: Double]) { state.withLock { $0.pollLagSeconds = lag } }
    public func setOAuthClientSecretsExpiring(_ counts: [String: Int]) { state.withLock { $0.oauthClientSecretsExpiring = counts } }
    public func setOAuthReauthRequired(_ counts: [String: Int]) { state.withLock { $0.oauthReauthRequired = counts } }

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ label: String, _ values: [String: Double]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (k, v) in values.sorted(by: { $0.key < $1.key }) {
                out += "\(name){\(label)=\"\(k.replacingOccurrences(of: "\"", with: ""))\"} \(v)\n"
            }
        }
        func ints(_ d: [String: Int]) -> [String: Double] { d.mapValues(Double.init) }
        family("mailroom_jobs_claimed_total", "counter", "Jobs claimed by this replica.", "kind", ints(s.claimed))
        family("mailroom_jobs_done_total", "counter", "Jobs finished successfully by this replica.", "kind", ints(s.done))
        family("mailroom_jobs_failed_total", "counter", "Job runs that failed on this replica.", "kind", ints(s.failed))
        family("mailroom_imap_errors_total", "counter", "IMAP connection or protocol errors.", "tenant", ints(s.imapErrors))
        family("mailroom_queue_depth", "gauge", "Ready jobs due now, per tenant.", "tenant", ints(s.queueDepth))
        family("mailroom_poll_lag_seconds", "gauge", "Longest time a due poll has waited, per tenant.", "tenant", s.pollLagSeconds)
        family("mailroom_oauth_reauth_required", "gauge",
               "Accounts whose OAuth login the provider refused and someone must renew, per tenant.", "tenant",
               ints(s.oauthReauthRequired))
        family("mailroom_oauth_client_secrets_expiring", "gauge",
               "OAuth clients whose client secret expires within 30 days or has expired, per tenant.", "tenant",
               ints(s.oauthClientSecretsExpiring))
        return out
    }
}
