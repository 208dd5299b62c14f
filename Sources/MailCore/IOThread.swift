import Foundation
import Synchronization

/// A dedicated OS thread that runs blocking C calls (libpq, libcurl) one at a time.
///
/// Blocking work must never run on Swift's cooperative pool: two cores means two pool threads, and a
/// single slow `PQexec` or `curl_easy_perform` there would stall every task in the process. Each
/// C handle is owned by exactly one `IOThread`, which also makes the handle's use single-threaded.
public final class IOThread: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var stopped = false
    }
    private let state = Mutex(State())
    private let condition = NSCondition()
    public let name: String

    public init(name: String) {
        self.name = name
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `body` on this thread and returns its result to the awaiting task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            submit { cont.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body` on this thread, blocking the caller: for synchronous contexts that are not on the
    /// cooperative pool (command-line set-up, `deinit`).
    public func runSync<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = Mutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        submit {
            let r = Result { try body() }
            box.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return try box.withLock { $0! }.get()
    }

    /// Runs `body` after every job already submitted, then lets the thread exit.
    public func stop(finally body: @escaping @Sendable () -> Void = {}) {
        submit(body)
        condition.lock()
        state.withLock { $0.stopped = true }
        condition.signal()
        condition.unlock()
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        state.withLock { $0.jobs.append(job) }
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            var batch: [@Sendable () -> Void] = []
            var stopped = false
            while true {
                (batch, stopped) = state.withLock { s in
                    defer { s.jobs.removeAll() }
                    return (s.jobs, s.stopped)
                }
                if !batch.isEmpty || stopped { break }
                condition.wait()
            }
            condition.unlock()
            for job in batch { job() }
            if stopped && batch.isEmpty { return }
            if stopped {
                // Drain anything submitted after stop was requested, then exit.
                let rest = state.withLock { s in defer { s.jobs.removeAll() }; return s.jobs }
                for job in rest { job() }
                return
            }
        }
    }
}
