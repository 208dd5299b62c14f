import Synchronization

/// An async semaphore over bytes: bounds the message bodies one worker holds in memory at once.
///
/// A fetch reserves its size before it starts and waits while the budget is spent; waiters are
/// served in arrival order (a large request is not starved by small ones). A request larger than
/// the whole budget is clamped to it, so it runs alone instead of waiting forever. Each
/// `Reservation` must be released once (releasing twice is a no-op).
public final class ByteBudget: Sendable {
    public let capacity: Int

    private struct Waiter {
        var id: UInt64
        var bytes: Int
        var continuation: CheckedContinuation<Void, Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(capacity: Int) {
        precondition(capacity > 0, "a byte budget needs a positive capacity")
        self.capacity = capacity
        state = Mutex(State(available: capacity))
    }

    /// Bytes not reserved right now.
    public var available: Int { state.withLock { $0.available } }
    /// Reservations waiting for bytes (for tests and metrics).
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Reserves `bytes` (clamped to 0…capacity), waiting until they are free. Throws
    /// `CancellationError` when the task is cancelled while waiting.
    public func reserve(_ bytes: Int) async throws -> Reservation {
        let amount = max(0, min(bytes, capacity))
        let id: UInt64? = state.withLock { s in
            if s.waiters.isEmpty, s.available >= amount {
                s.available -= amount
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return Reservation(budget: self, bytes: amount) }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let resumeNow: Bool = state.withLock { s in
                    if Task.isCancelled { return true }
                    s.waiters.append(Waiter(id: id, bytes: amount, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume(throwing: CancellationError()) }
                // A release may have happened between the first check and the append.
                grant()
            }
        } onCancel: {
            let cancelled: Waiter? = state.withLock { s in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
            grant()
        }
        return Reservation(budget: self, bytes: amount)
    }

    /// Takes `bytes` more without waiting (memory already in use, e.g. a body that turned out
    /// larger than announced); may push `available` below zero, which holds back later reservations.
    func forceTake(_ bytes: Int) {
        state.withLock { $0.available -= bytes }
    }

    fileprivate func give(_ bytes: Int) {
        state.withLock { $0.available += bytes }
        grant()
    }

    /// Wakes waiters from the front while their requests fit.
    private func grant() {
        let ready: [CheckedContinuation<Void, Error>] = state.withLock { s in
            var out: [CheckedContinuation<Void, Error>] = []
            while let first = s.waiters.first, s.available >= first.bytes {
                s.available -= first.bytes
                out.append(s.waiters.removeFirst().continuation)
            }
            return out
        }
        for c in ready { c.resume() }
    }

    /// Bytes taken from a budget; give them back with `release()`.
    public final class Reservation: Sendable {
        private let budget: ByteBudget
        private let bytes: Mutex<Int>

        fileprivate init(budget: ByteBudget, bytes: Int) {
            self.budget = budget
            self.bytes = Mutex(bytes)
        }

        /// Bytes currently held.
        public var held: Int { bytes.withLock { $0 } }

        /// Grows the reservation to at least `total` without waiting: for bytes that already arrived.
        public func grow(to total: Int) {
            let extra = bytes.withLock { held -> Int in
                let extra = max(0, total - held)
                held += extra
                return extra
            }
            if extra > 0 { budget.forceTake(extra) }
        }

        /// Returns the bytes to the budget. Idempotent.
        public func release() {
            let amount = bytes.withLock { held -> Int in
                defer { held = 0 }
                return held
            }
            if amount > 0 { budget.give(amount) }
        }
    }
}
