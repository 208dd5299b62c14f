import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The metrics of one replica, recorded through the swift-metrics API into a Prometheus registry of
/// its own and rendered from it in the Prometheus text format (`render()`).
///
/// Each `WorkerMetrics` owns its registry and factory, so tests running several workers in one
/// process never share series. The executable also bootstraps `MetricsSystem` with `factory` (once
/// per process), so what libraries record through the global API lands in the same exposition.
///
/// Labels stay low-cardinality: the job kind or the tenant's slug, never an account or email id.
/// Latencies are histograms (seconds); their buckets are set per metric in `durationBuckets`.
public final class WorkerMetrics: Sendable {
    /// Metric names, as scraped (dashboards depend on them).
    public enum Name {
        public static let jobsClaimed = "mailroom_jobs_claimed_total"
        public static let jobsDone = "mailroom_jobs_done_total"
        public static let jobsFailed = "mailroom_jobs_failed_total"
        public static let imapErrors = "mailroom_imap_errors_total"
        public static let queueDepth = "mailroom_queue_depth"
        public static let pollOverdue = "mailroom_poll_overdue_seconds"
        public static let oauthReauthRequired = "mailroom_oauth_reauth_required"
        public static let oauthClientSecretsExpiring = "mailroom_oauth_client_secrets_expiring"
        public static let stormBreakersTripped = "mailroom_storm_breakers_tripped"
        public static let stormMailsHeld = "mailroom_storm_mails_held"
        public static let jobWait = "mailroom_job_wait_seconds"
        public static let pollLag = "mailroom_poll_lag_seconds"
        public static let deliveryToRow = "mailroom_delivery_to_row_seconds"
        public static let queueToSent = "mailroom_queue_to_sent_seconds"
    }

    /// Histogram buckets per latency metric. Waits for a claim or a poll start are sub-second when
    /// replicas keep up and grow to minutes when they fall behind; delivery reaches the row after a
    /// poll interval (a minute by default) plus the import; sending waits for the job and the SMTP
    /// round trips, and for retries when a server is down.
    public static let durationBuckets: [String: [Duration]] = [
        Name.jobWait: waitBuckets,
        Name.pollLag: waitBuckets,
        Name.deliveryToRow: [.seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
                             .seconds(600), .seconds(1800), .seconds(3600), .seconds(21_600), .seconds(86_400)],
        Name.queueToSent: [.milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
                           .seconds(10), .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3600)],
    ]
    static let waitBuckets: [Duration] = [.milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                          .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
                                          .seconds(30), .seconds(60), .seconds(300)]

    public let registry: PrometheusCollectorRegistry
    /// The factory every metric of this replica is made by; `MetricsSystem.bootstrap` takes it.
    public let factory: PrometheusMetricsFactory
    /// Per-tenant gauges last published, so a tenant that is gone (deactivated, deleted) loses its
    /// series instead of showing its last value forever.
    private let published = Mutex<[String: Set<String>]>([:])

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = Self.durationBuckets
        self.registry = registry
        self.factory = factory
    }

    /// The exposition for `GET /metrics` (text format 0.0.4).
    public func render() -> String {
        registry.emitToString()
    }

    // MARK: Jobs

    /// A job was claimed `waited` seconds after it fell due (its `run_at`).
    func claimed(kind: String, waited: Double) {
        Counter(label: Name.jobsClaimed, dimensions: [("kind", kind)], factory: factory).increment()
        seconds(Name.jobWait, [("kind", kind)], waited)
    }

    func finished(kind: String, ok: Bool) {
        Counter(label: ok ? Name.jobsDone : Name.jobsFailed, dimensions: [("kind", kind)], factory: factory).increment()
    }

    // MARK: Latencies

    /// A poll job started `lag` seconds after it fell due.
    func pollStarted(tenant: String, lag: Double) { seconds(Name.pollLag, [("tenant", tenant)], lag) }

    /// A new email's row committed `delay` seconds after the server received the message.
    func delivered(tenant: String, delay: Double) { seconds(Name.deliveryToRow, [("tenant", tenant)], delay) }

    /// An email was marked Sent `delay` seconds after it was queued.
    func sent(tenant: String, delay: Double) { seconds(Name.queueToSent, [("tenant", tenant)], delay) }

    private func seconds(_ name: String, _ dimensions: [(String, String)], _ value: Double) {
        // A clock a little ahead on one side must not make a negative latency.
        Timer(label: name, dimensions: dimensions, factory: factory).recordSeconds(max(0, value))
    }

    // MARK: Per-tenant counters and gauges

    func imapError(tenant: String) {
        Counter(label: Name.imapErrors, dimensions: [("tenant", tenant)], factory: factory).increment()
    }

    public func setQueueDepth(_ depth: [String: Int]) { setGauges(Name.queueDepth, depth.mapValues(Double.init)) }
    public func setPollOverdue(_ seconds: [String: Double]) { setGauges(Name.pollOverdue, seconds) }
    public func setOAuthClientSecretsExpiring(_ counts: [String: Int]) {
        setGauges(Name.oauthClientSecretsExpiring, counts.mapValues(Double.init))
    }
    public func setOAuthReauthRequired(_ counts: [String: Int]) { setGauges(Name.oauthReauthRequired, counts.mapValues(Double.init)) }
    /// Per tenant: senders past their storm breaker limit now, and the mails those trips held back.
    public func setStormBreakers(tripped: [String: Int], held: [String: Int]) {
        setGauges(Name.stormBreakersTripped, tripped.mapValues(Double.init))
        setGauges(Name.stormMailsHeld, held.mapValues(Double.init))
    }

    /// Sets one gauge per tenant and removes the series of tenants no longer listed.
    private func setGauges(_ name: String, _ values: [String: Double]) {
        let gone = published.withLock { published -> Set<String> in
            let gone = published[name, default: []].subtracting(values.keys)
            published[name] = Set(values.keys)
            return gone
        }
        for tenant in gone { Gauge(label: name, dimensions: [("tenant", tenant)], factory: factory).destroy() }
        for (tenant, value) in values { Gauge(label: name, dimensions: [("tenant", tenant)], factory: factory).record(value) }
    }
}
