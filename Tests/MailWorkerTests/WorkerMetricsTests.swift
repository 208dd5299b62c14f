@testable import MailWorker
import Testing

/// The exposition a replica's registry renders: histograms with their buckets, per-tenant gauges that
/// follow the tenants listed. Each `WorkerMetrics` has a registry of its own.
@Suite struct WorkerMetricsTests {
    @Test func latenciesAreHistogramsWithTheirOwnBuckets() {
        let metrics = WorkerMetrics()
        metrics.claimed(kind: "poll", waited: 0.03)
        metrics.claimed(kind: "poll", waited: 7)
        metrics.delivered(tenant: "acme", delay: 40)
        // A sender's clock a little behind the server's: counted as 0, never negative.
        metrics.sent(tenant: "acme", delay: -0.2)
        let text = metrics.render()
        #expect(text.contains("# TYPE mailroom_job_wait_seconds histogram"))
        #expect(LoopbackHTTP.sample(text, #"mailroom_job_wait_seconds_bucket{kind="poll",le="0.01"}"#) == 0)
        #expect(LoopbackHTTP.sample(text, #"mailroom_job_wait_seconds_bucket{kind="poll",le="0.05"}"#) == 1)
        #expect(LoopbackHTTP.sample(text, #"mailroom_job_wait_seconds_bucket{kind="poll",le="10.0"}"#) == 2)
        #expect(LoopbackHTTP.sample(text, #"mailroom_job_wait_seconds_count{kind="poll"}"#) == 2)
        #expect(LoopbackHTTP.sample(text, #"mailroom_jobs_claimed_total{kind="poll"}"#) == 2)
        // Each histogram has the buckets documented for it.
        #expect(LoopbackHTTP.sample(text, #"mailroom_delivery_to_row_seconds_bucket{tenant="acme",le="30.0"}"#) == 0)
        #expect(LoopbackHTTP.sample(text, #"mailroom_delivery_to_row_seconds_bucket{tenant="acme",le="60.0"}"#) == 1)
        #expect(LoopbackHTTP.sample(text, #"mailroom_delivery_to_row_seconds_bucket{tenant="acme",le="86400.0"}"#) == 1)
        #expect(LoopbackHTTP.sample(text, #"mailroom_queue_to_sent_seconds_bucket{tenant="acme",le="0.1"}"#) == 1)
        #expect(LoopbackHTTP.sample(text, #"mailroom_queue_to_sent_seconds_sum{tenant="acme"}"#) == 0)
        // A second replica in the same process counts on its own.
        #expect(!WorkerMetrics().render().contains("mailroom_job_wait_seconds"))
    }

    @Test func aTenantNoLongerListedLosesItsGauge() {
        let metrics = WorkerMetrics()
        metrics.setQueueDepth(["acme": 3, "initech": 1])
        #expect(LoopbackHTTP.sample(metrics.render(), #"mailroom_queue_depth{tenant="initech"}"#) == 1)
        metrics.setQueueDepth(["acme": 5])
        let text = metrics.render()
        #expect(LoopbackHTTP.sample(text, #"mailroom_queue_depth{tenant="acme"}"#) == 5)
        #expect(!text.contains(#"tenant="initech""#))
    }
}
