import Foundation
import Logging
import MailCore
import MailIO
import Synchronization

/// A fixed-size pool of libpq connections, each on its own `IOThread`.
///
/// `withConnection` leases a connection, runs the synchronous body on that connection's thread and
/// returns it. One thread hop per unit of work (usually a transaction) keeps the cooperative pool
/// free and makes a whole transaction one scheduling step.
public final class PostgresPool: Sendable {
    public struct Configuration: Sendable {
        public var conninfo: String
        public var maxConnections: Int
        public var applicationName: String
        public init(conninfo: String, maxConnections: Int = 8, applicationName: String = "mailroom") {
            self.conninfo = conninfo
            self.maxConnections = maxConnections
            self.applicationName = applicationName
        }
    }

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<PostgresConnection?, Never>] = []
        var closed = false
    }

    public let configuration: Configuration
    private let state = Mutex(State())
    private let counter = Atomic<Int>(0)
    private let logger: Logger

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "mailroom.store")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` with a leased connection on that connection's thread.
    ///
    /// An idle connection the server closed meanwhile (a PostgreSQL restart, a terminated backend) is
    /// noticed before `body` runs, discarded and replaced, so callers never see errors from connections
    /// that died while nobody used them. A connection that breaks while `body` runs fails `body`.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        while true {
            let conn = try await lease()
            do {
                let attempt = try await conn.thread.run { () throws -> Attempt<T> in
                    if conn.closedWhileIdle() { return .stale }
                    return .done(try body(conn))
                }
                release(conn)
                if case .done(let value) = attempt { return value }
            } catch {
                release(conn)
                throw error
            }
        }
    }

    /// Holds one connection for the whole of an async `body` (which runs its statements through
    /// `conn.thread.run`). For session state that must outlive one call: an advisory lock held while
    /// a mailbox is polled. Stale idle connections are replaced first, as in `withConnection`.
    public func withLeasedConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        var conn = try await lease()
        while true {
            let candidate = conn
            guard try await candidate.thread.run({ candidate.closedWhileIdle() }) else { break }
            release(candidate)
            conn = try await lease()
        }
        do {
            let value = try await body(conn)
            release(conn)
            return value
        } catch {
            release(conn)
            throw error
        }
    }

    private enum Attempt<T: Sendable>: Sendable { case stale, done(T) }

    /// Runs `body` in a transaction scoped to `tenant` (row-level security applies).
    @discardableResult
    public func transaction<T: Sendable>(tenant: TenantID?, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { conn in try conn.transaction(tenant: tenant) { try body(conn) } }
    }

    /// Closes idle connections and refuses new leases; leased ones close when returned.
    public func close() {
        let (idle, waiters) = state.withLock { s -> ([PostgresConnection], [CheckedContinuation<PostgresConnection?, Never>]) in
            s.closed = true
            defer { s.idle = []; s.waiters = [] }
            return (s.idle, s.waiters)
        }
        for w in waiters { w.resume(returning: nil) }
        for c in idle { c.thread.stop() }
    }

    private enum Lease { case ready(PostgresConnection), create, wait, closed }

    private func lease() async throws -> PostgresConnection {
        let decision = state.withLock { s -> Lease in
            if s.closed { return .closed }
            if let c = s.idle.popLast() { return .ready(c) }
            if s.open < configuration.maxConnections { s.open += 1; return .create }
            return .wait
        }
        switch decision {
        case .ready(let c): return c
        case .closed: throw PostgresError(code: .poolClosed, message: "connection pool is closed")
        case .create:
            do { return try await connect() } catch {
                state.withLock { $0.open -= 1 }
                throw error
            }
        case .wait:
            let conn = await withCheckedContinuation { (cont: CheckedContinuation<PostgresConnection?, Never>) in
                let immediate = state.withLock { s -> Lease in
                    if s.closed { return .closed }
                    if let c = s.idle.popLast() { return .ready(c) }
                    if s.open < configuration.maxConnections { s.open += 1; return .create }
                    s.waiters.append(cont)
                    return .wait
                }
                switch immediate {
                case .ready(let c): cont.resume(returning: c)
                case .closed: cont.resume(returning: nil)
                case .create: cont.resume(returning: nil)  // handled below by retrying the lease
                case .wait: break
                }
            }
            if let conn { return conn }
            if state.withLock({ $0.closed }) {
                throw PostgresError(code: .poolClosed, message: "connection pool is closed")
            }
            // We reserved a slot to create a connection.
            do { return try await connect() } catch {
                state.withLock { $0.open -= 1 }
                throw error
            }
        }
    }

    private func connect() async throws -> PostgresConnection {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let thread = IOThread(name: "pg-\(n)")
        let conninfo = configuration.conninfo
        let app = configuration.applicationName
        do {
            return try await thread.run { try PostgresConnection.open(conninfo: conninfo, applicationName: app, thread: thread) }
        } catch {
            thread.stop()
            throw error
        }
    }

    private func release(_ conn: PostgresConnection) {
        if conn.isBroken {
            logger.warning("discarding broken database connection")
            state.withLock { $0.open -= 1 }
            conn.thread.stop()
            wakeOneToCreate()
            return
        }
        let waiter = state.withLock { s -> CheckedContinuation<PostgresConnection?, Never>? in
            if s.closed { s.open -= 1; return nil }
            if !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.idle.append(conn)
            return nil
        }
        if let waiter {
            waiter.resume(returning: conn)
        } else if state.withLock({ $0.closed }) {
            conn.thread.stop()
        }
    }

    /// A connection slot freed up: let one waiter create a fresh connection.
    private func wakeOneToCreate() {
        let waiter = state.withLock { s -> CheckedContinuation<PostgresConnection?, Never>? in
            guard !s.waiters.isEmpty, s.open < configuration.maxConnections else { return nil }
            s.open += 1
            return s.waiters.removeFirst()
        }
        waiter?.resume(returning: nil)
    }
}
