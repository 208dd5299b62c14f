import Foundation
import Logging
import MailCore
import MailDomain
import MailStore

/// Runs one kind of job. Handlers must be safe to run again after a crash (at-least-once delivery):
/// the import path is, through its cursor and Message-ID dedupe.
public protocol JobHandler: Sendable {
    func handle(_ job: Job) async throws
}

public struct JobRunnerConfiguration: Sendable {
    /// Names this replica in leases and logs: host, pid and a random suffix.
    public var owner = JobRunnerConfiguration.defaultOwner()
    /// Jobs run at once by this replica.
    public var slots = 4
    /// Running jobs per tenant across all replicas: one busy tenant cannot take every slot.
    public var perTenantCap = 4
    public var lease: Duration = .seconds(30)
    public var heartbeatEvery: Duration = .seconds(10)
    /// The longest an idle runner waits before checking for due work without a notification.
    /// Re-armed periodic jobs (polls) become due in the future without a notification, so this
    /// bounds how late an idle replica starts them; a claim that finds nothing costs well under 1 ms.
    /// It also bounds the delay of a job whose enqueue sent no notification because another job of
    /// its tenant and kind was already waiting (the debounced wake-up of `mailroom_enqueue_jobs`,
    /// functions/30_jobs.sql), when that job was claimed and finished before the new one committed.
    public var idleWait: Duration = .seconds(1)
    public var retryBase: Duration = .seconds(5)
    public var retryCap: Duration = .seconds(3600)
    /// On shutdown, in-flight jobs get this long to finish before they are handed back.
    public var shutdownDeadline: Duration = .seconds(20)
    public var kinds: [String]?

    public init() {}

    public static func defaultOwner() -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(name):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }
}

/// Claims jobs in batches as slots free up, runs them, completes them in batches, renews their leases,
/// and hands back what it cannot finish when asked to stop (task cancellation = graceful shutdown).
public final class JobRunner: Sendable {
    let pool: PostgresPool
    let handlers: [String: any JobHandler]
    let config: JobRunnerConfiguration
    let logger: Logger
    let metrics: WorkerMetrics
    let tenants: TenantDirectory
    private let tracker = JobRunnerState()

    public init(pool: PostgresPool, handlers: [String: any JobHandler], config: JobRunnerConfiguration,
                metrics: WorkerMetrics = WorkerMetrics(), tenants: TenantDirectory? = nil, logger: Logger) {
        self.pool = pool
        self.tenants = tenants ?? TenantDirectory(pool: pool)
        self.handlers = handlers
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    /// Wakes the claim loop early (a notification arrived, a slot freed up).
    public func nudge() { tracker.wake() }

    /// Runs until the calling task is cancelled, then shuts down gracefully and returns.
    public func run() async {
        let heartbeat = Task { [self] in await heartbeatLoop() }
        let ticker = Task { [self] in await idleTicker() }
        while !Task.isCancelled {
            let (free, outcomes) = tracker.beginTurn(slots: config.slots)
            let claimed = await completeAndClaim(free, outcomes)
            let claimedFull = free > 0 && claimed.count == free
            for job in claimed { start(job) }
            // A full batch means the queue is deep: claim again at once if a slot is already free.
            if claimedFull && tracker.runningCount < config.slots { continue }
            await tracker.wait()
        }
        ticker.cancel()
        // Shutdown runs in an unstructured task: this one is cancelled, and sleeps would end at once.
        await Task { [self] in await shutdown() }.value
        heartbeat.cancel()
    }

    /// Wakes the loop when the earliest ready job falls due, and at least every `idleWait`. A periodic
    /// job re-armed for later gets no notification when its time comes; waking at its due time (not on
    /// the next fixed tick) means a tenant with one mailbox waits no longer than one with thousands,
    /// whose jobs keep the runners busy anyway.
    private func idleTicker() async {
        let kinds = config.kinds, longest = config.idleWait
        while !Task.isCancelled {
            var wait = longest
            if let dueIn = try? await pool.withConnection({ try JobQueries.jobNextDueIn($0, kinds: kinds) }) {
                // Due later: wake 2 ms after (a claim a hair too soon finds nothing and waits again).
                // Already due but unclaimed: slots or tenant caps are full, and a finishing job wakes
                // the loop anyway; check again soon without spinning.
                wait = dueIn > 0 ? min(longest, .milliseconds(Int64(dueIn * 1000) + 2)) : min(longest, .milliseconds(100))
            }
            try? await Task.sleep(for: wait)
            nudge()
        }
    }

    /// One turn: the finished jobs' outcomes go back and up to `limit` new jobs are claimed, in one
    /// transaction on one connection (`JobQueries.jobCompleteAndClaim`).
    private func completeAndClaim(_ limit: Int, _ outcomes: [JobOutcome]) async -> [Job] {
        guard limit > 0 || !outcomes.isEmpty else { return [] }
        let owner = config.owner, cap = config.perTenantCap, lease = config.lease, kinds = config.kinds
        do {
            let jobs = try await pool.withConnection { conn in
                try JobQueries.jobCompleteAndClaim(conn, outcomes, owner: owner, limit: max(0, limit), perTenantCap: cap,
                                                   lease: lease, kinds: kinds).claimed
            }
            for j in jobs { metrics.claimed(kind: j.kind, waited: j.waited) }
            return jobs
        } catch {
            logger.error("claiming jobs failed", metadata: ["error": "\(error)"])
            // The turn rolled back as a whole: give the completions their own statement, as before.
            await complete(outcomes)
            return []
        }
    }

    private func start(_ job: Job) {
        tracker.register(job.id)
        let task = Task { [self] in
            let outcome: JobOutcome?
            do {
                guard let handler = handlers[job.kind] else {
                    throw WorkerError("no handler for job kind \(job.kind)")
                }
                try await handler.handle(job)
                outcome = JobOutcome(id: job.id, leaseEpoch: job.leaseEpoch, result: .done)
                metrics.finished(kind: job.kind, ok: true)
            } catch is CancellationError {
                outcome = nil  // handed back by shutdown
            } catch let postponed as JobPostponed {
                outcome = JobOutcome(id: job.id, leaseEpoch: job.leaseEpoch, result: .postponed, retryAt: postponed.until,
                                     error: postponed.description)
            } catch {
                metrics.finished(kind: job.kind, ok: false)
                let final = !job.isPeriodic && job.attempt >= job.maxAttempts
                let delay = RetryBackoff.delay(attempt: job.attempt, base: seconds(config.retryBase), cap: seconds(config.retryCap),
                                               unit: Double.random(in: 0..<1))
                await logFailure(job, error: error, final: final)
                outcome = JobOutcome(id: job.id, leaseEpoch: job.leaseEpoch, result: final ? .failed : .retry,
                                     retryAt: Date().addingTimeInterval(delay), error: "\(error)")
            }
            tracker.finish(job.id, outcome)
        }
        tracker.attach(job.id, task)
    }

    /// The failure line, with the job's tenant, account and folder or email: built only when a job fails, as
    /// the tenant lookup and payload decoding would otherwise cost every job.
    private func logFailure(_ job: Job, error: any Error, final: Bool) async {
        var log = await tenants.logger(logger, tenant: job.tenantID)
        log[metadataKey: "job"] = "\(job.id)"
        log[metadataKey: "kind"] = "\(job.kind)"
        // Poll jobs name their account and folder in the payload, send jobs their email.
        if let scope = try? JSONDecoder().decode(JobScope.self, from: Data(job.payload.utf8)) {
            if let a = scope.account { log[metadataKey: "account_id"] = "\(a)" }
            if let f = scope.folder { log[metadataKey: "folder_id"] = "\(f)" }
            if let e = scope.email { log[metadataKey: "email_id"] = "\(e)" }
        }
        log.warning("job failed", metadata: ["error": "\(error)", "attempt": "\(job.attempt)", "final": "\(final)"])
    }

    private func flushCompletions() async {
        await complete(tracker.takeOutcomes())
    }

    private func complete(_ outcomes: [JobOutcome]) async {
        guard !outcomes.isEmpty else { return }
        do {
            _ = try await pool.withConnection { try JobQueries.jobCompleteMany($0, outcomes) }
        } catch {
            // The leases will expire and the rescuer will return these jobs: at-least-once, never lost.
            logger.error("completing jobs failed", metadata: ["error": "\(error)", "count": "\(outcomes.count)"])
        }
    }

    private func heartbeatLoop() async {
        let owner = config.owner, lease = config.lease
        while !Task.isCancelled {
            try? await Task.sleep(for: config.heartbeatEvery)
            let ids = tracker.runningIDs
            guard !ids.isEmpty else { continue }
            do {
                _ = try await pool.withConnection { try JobQueries.jobHeartbeat($0, owner: owner, ids: ids, lease: lease) }
            } catch {
                logger.error("lease heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func shutdown() async {
        let deadline = ContinuousClock.now + config.shutdownDeadline
        while ContinuousClock.now < deadline {
            if tracker.runningCount == 0 { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        await flushCompletions()
        let leftovers = tracker.cancelAll()
        if !leftovers.isEmpty {
            let owner = config.owner
            do {
                let n = try await pool.withConnection { try JobQueries.jobHandBack($0, owner: owner, ids: leftovers) }
                logger.notice("handed back unfinished jobs", metadata: ["count": "\(n)"])
            } catch {
                logger.error("handing back jobs failed; their leases will expire", metadata: ["error": "\(error)"])
            }
        }
    }

    private struct JobScope: Decodable { var account: Int64?; var folder: Int64?; var email: Int64? }

    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
