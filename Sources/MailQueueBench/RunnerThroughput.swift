import Foundation
import Logging
import MailStore
import MailWorker
import Synchronization

/// Our side of the queue benchmark: Mailroom's `JobRunner`, in process, claiming and completing a
/// queue of `noop` jobs with the production claim and completion statements.
struct RunnerThroughput {
    let database: BenchDatabase

    /// Runs a runner with `slots` until every job in the queue is done; returns jobs per second.
    func measure(jobs: Int, slots: Int) async throws -> Measurement {
        let counter = CountingHandler()
        var config = JobRunnerConfiguration()
        config.slots = slots
        config.perTenantCap = 1_000_000  // the cap is not what is measured
        config.lease = .seconds(300)
        config.heartbeatEvery = .seconds(60)
        var logger = Logger(label: "bench.runner")
        logger.logLevel = .warning
        // The runner's own connections: one for claims and completions plus a spare for heartbeats.
        let pool = PostgresPool(.init(conninfo: database.url, maxConnections: 2, applicationName: "bench-runner"))
        defer { pool.close() }
        let runner = JobRunner(pool: pool, handlers: ["noop": counter], config: config, logger: logger)
        let started = ContinuousClock.now
        let task = Task { await runner.run() }
        await counter.wait(for: jobs)
        // Handlers have returned; the last completions are flushed on the runner's next turn.
        while try await database.doneJobs() < jobs {
            try await Task.sleep(for: .milliseconds(2))
        }
        let elapsed = ContinuousClock.now - started
        task.cancel()
        await task.value
        return Measurement(jobs: jobs, seconds: elapsed.seconds)
    }
}

/// The `noop` handler, counting its calls so the benchmark knows when to look for the last completions.
final class CountingHandler: JobHandler {
    private let inner = NoopJobHandler()
    private let state = Mutex<(count: Int, waiter: (target: Int, continuation: CheckedContinuation<Void, Never>)?)>((0, nil))

    func handle(_ job: Job) async throws {
        try await inner.handle(job)
        let resume = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.count += 1
            guard let w = s.waiter, s.count >= w.target else { return nil }
            s.waiter = nil
            return w.continuation
        }
        resume?.resume()
    }

    func wait(for target: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.count >= target { return true }
                s.waiter = (target, c)
                return false
            }
            if now { c.resume() }
        }
    }
}

struct Measurement: Codable, Sendable {
    var jobs: Int
    var seconds: Double
    var jobsPerSecond: Double { seconds > 0 ? Double(jobs) / seconds : 0 }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
