import Foundation
import Logging
import MailStore
import ServiceLifecycle
import Synchronization

/// Wakes the events API's waiting requests (`wait=` of `GET /v1/events`) when events are numbered: a
/// `Service` that LISTENs on `mailroom_events` (functions/50_events.sql) and counts notifications.
///
/// Any tenant's notification wakes every waiter (the listener does not pass payloads); a waiter that
/// was not concerned reads an empty page again and waits on. A missed notification costs a waiter at
/// most its `wait`, never an event: the page is always read from the table. Put it after the HTTP
/// server in the `ServiceGroup` (which stops services in reverse order): it stops first and releases
/// every waiter, so the server's graceful shutdown finds no request left waiting.
public final class EventWakeUps: Service, Sendable {
    public static let channel = "mailroom_events"

    private let listener: PostgresListener
    private let logger: Logger
    private let state = Mutex(State())

    struct State {
        var generation = 0
        /// Each waiting request; nil until its continuation is in place. Removing an entry is what
        /// releases a waiter: one whose entry is gone when it arrives returns at once.
        var waiters: [UUID: CheckedContinuation<Void, Never>?] = [:]
        /// Shutting down: nobody waits any more, so the HTTP server's graceful shutdown is not held
        /// up by requests waiting out their `wait`.
        var closed = false
    }

    public init(conninfo: String, logger: Logger) {
        self.listener = PostgresListener(conninfo: conninfo, channels: [Self.channel])
        self.logger = logger
    }

    /// The number of notifications seen so far, read before a page and passed to `wait(since:until:)`;
    /// nil once shutting down: then nobody waits.
    public var generation: Int? { state.withLock { $0.closed ? nil : $0.generation } }

    /// Returns at the first notification after `generation` (at once when one came already), or at
    /// `deadline`.
    public func wait(since generation: Int, until deadline: ContinuousClock.Instant) async {
        let id = UUID()
        let waiting = state.withLock { s -> Bool in
            guard s.generation == generation, !s.closed else { return false }
            s.waiters[id] = .some(nil)
            return true
        }
        guard waiting else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let released = self.state.withLock { s -> Bool in
                        guard s.waiters[id] != nil else { return true }
                        s.waiters[id] = c
                        return false
                    }
                    if released { c.resume() }
                }
            }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
            // Released either way; a waiter still in place is resumed here.
            self.state.withLock { $0.waiters.removeValue(forKey: id) }??.resume()
        }
    }

    public func run() async throws {
        defer { listener.close() }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if try await self.listener.wait(timeout: .seconds(1)).isEmpty { continue }
                    self.wakeAll()
                } catch {
                    self.logger.warning("events listener failed; reconnecting", metadata: ["error": "\(error)"])
                    // Notifications may be lost until it is back: the waiters read their pages again.
                    self.wakeAll()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        wakeAll(closing: true)
    }

    private func wakeAll(closing: Bool = false) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.generation += 1
            if closing { s.closed = true }
            defer { s.waiters.removeAll() }
            return s.waiters.values.compactMap { $0 }
        }
        for w in waiters { w.resume() }
    }
}
