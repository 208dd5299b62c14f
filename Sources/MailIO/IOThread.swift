import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread that runs blocking C calls (libpq, libcurl) one at a time.
///
/// Blocking work must never run on Swift's cooperative pool: two cores means two pool threads, and a
/// single slow `PQexec` or `curl_easy_perform` there would stall every task in the process. Each
/// C handle is owned by exactly one `IOThread`, which also makes the handle's use single-threaded.
public final class IOThread: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var stopped = false
        /// The loop has returned: nothing submitted from now on would run.
        var exited = false
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

    /// Whether the thread's loop has returned (after `stop`, once its queue ran empty).
    public var hasExited: Bool { state.withLock { $0.exited } }

    /// Runs `body` on this thread and returns its result to the awaiting task. Throws
    /// `IOThreadStopped` when the thread has already exited (its owner closed it meanwhile): a job
    /// nobody will run must not leave its task waiting forever.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            if !submit({ cont.resume(with: Result { try body() }) }) {
                cont.resume(throwing: IOThreadStopped(name: name))
            }
        }
    }

    /// Runs `body` on this thread, blocking the caller: for synchronous contexts that are not on the
    /// cooperative pool (command-line set-up, `deinit`).
    public func runSync<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = Mutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let accepted = submit {
            let r = Result { try body() }
            box.withLock { $0 = r }
            done.signal()
        }
        guard accepted else { throw IOThreadStopped(name: name) }
        done.wait()
        return try box.withLock { $0! }.get()
    }

    /// Queues `job` without waiting for it (for threads that must not block, such as an event
    /// loop handing work to a set-up thread). False when the thread has exited: `job` will not run.
    @discardableResult
    public func post(_ job: @escaping @Sendable () -> Void) -> Bool { submit(job) }

    /// Runs `body` after every job already submitted, then lets the thread exit. Once the thread has
    /// exited, `body` runs on the caller (it usually frees the C handle, which must happen once).
    public func stop(finally body: @escaping @Sendable () -> Void = {}) {
        condition.lock()
        let accepted = state.withLock { s -> Bool in
            guard !s.exited else { return false }
            s.jobs.append(body)
            s.stopped = true
            return true
        }
        condition.signal()
        condition.unlock()
        if !accepted { body() }
    }

    /// Queues a job; false when the thread has exited and nobody would run it.
    private func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let accepted = state.withLock { s -> Bool in
            guard !s.exited else { return false }
            s.jobs.append(job)
            return true
        }
        if accepted { condition.signal() }
        return accepted
    }

    /// Runs jobs in submission order. After `stop`, it keeps running whatever arrives until it finds
    /// the queue empty; it marks itself exited in the same critical section, so a job is either run
    /// or refused (`submit` returns false), never dropped.
    private func loop() {
        Self.nameCurrentThread(name)
        while true {
            condition.lock()
            var batch: [@Sendable () -> Void] = []
            var exiting = false
            while true {
                (batch, exiting) = state.withLock { s in
                    let jobs = s.jobs
                    s.jobs.removeAll()
                    if s.stopped && jobs.isEmpty { s.exited = true }
                    return (jobs, s.exited)
                }
                if !batch.isEmpty || exiting { break }
                condition.wait()
            }
            condition.unlock()
            if exiting { return }
            for job in batch { job() }
        }
    }
}

extension IOThread {
    /// Gives the calling thread `name` as the system sees it (`/proc/self/task/*/comm`, `top -H`,
    /// debuggers): its first 15 bytes, the kernel's limit. Foundation's `Thread.name` does not
    /// reach the kernel on Linux.
    public static func nameCurrentThread(_ name: String) {
        #if canImport(Glibc)
        var bytes = Array(name.utf8.prefix(15))
        while String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        // pthread_setname_np needs _GNU_SOURCE, which Swift's Glibc module lacks; the kernel's
        // own file for the calling thread does the same.
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = write(fd, bytes, bytes.count)
        close(fd)
        #endif
    }
}

/// A job was handed to an `IOThread` that had already exited.
public struct IOThreadStopped: Error, CustomStringConvertible {
    public var name: String
    public var description: String { "I/O thread \(name) has stopped" }
}
