import MailStore
import Synchronization

/// A runner's in-flight jobs, the outcomes waiting for the batched completion, and the claim loop's
/// wake-up signal, behind one lock: a finishing job records its outcome and wakes the loop in one
/// step, with no actor hop or stream in between (the queue's per-job overhead).
final class JobRunnerState: Sendable {
    private struct State {
        /// Registered before its task starts (so the slot count is never low), task attached after.
        var running: [Int64: Task<Void, Never>?] = [:]
        var outcomes: [JobOutcome] = []
        /// A wake-up arrived while the loop was not waiting: its next wait returns at once.
        var woken = false
        var waiter: CheckedContinuation<Void, Never>?

        /// The waiting loop's continuation, or, when the loop is not waiting, a note that it was woken.
        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            guard let w = waiter else { woken = true; return nil }
            waiter = nil
            return w
        }
    }

    private let state = Mutex(State())

    var runningCount: Int { state.withLock { $0.running.count } }
    var runningIDs: [Int64] { state.withLock { Array($0.running.keys) } }

    /// The free slots out of `slots` and the outcomes to complete, taken together for one turn. The
    /// turn sees everything that happened before it, so earlier wake-ups are spent.
    func beginTurn(slots: Int) -> (free: Int, outcomes: [JobOutcome]) {
        state.withLock { s in
            defer { s.outcomes = []; s.woken = false }
            return (slots - s.running.count, s.outcomes)
        }
    }

    func register(_ id: Int64) { state.withLock { $0.running[id] = .some(nil) } }

    func attach(_ id: Int64, _ task: Task<Void, Never>) {
        state.withLock { s in if s.running[id] != nil { s.running[id] = .some(task) } }
    }

    /// Records a finished job's outcome (nil: it ended without one) and wakes the loop.
    func finish(_ id: Int64, _ outcome: JobOutcome?) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.running.removeValue(forKey: id)
            if let outcome { s.outcomes.append(outcome) }
            return s.takeWaiter()
        }
        waiter?.resume()
    }

    func takeOutcomes() -> [JobOutcome] {
        state.withLock { s in
            defer { s.outcomes = [] }
            return s.outcomes
        }
    }

    /// Cancels every in-flight job and returns their ids (to hand back).
    func cancelAll() -> [Int64] {
        let running = state.withLock { s in
            defer { s.running = [:] }
            return s.running
        }
        for case let t? in running.values { t.cancel() }
        return Array(running.keys)
    }

    /// Wakes the loop, or makes its next wait return at once.
    func wake() {
        state.withLock { $0.takeWaiter() }?.resume()
    }

    /// Returns after the next `wake` (or at once if one came since the last wait), or on cancellation.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.woken || Task.isCancelled { s.woken = false; return true }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            wake()
        }
    }
}
