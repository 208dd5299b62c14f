import Foundation
import MailCore
import MailCrypto
import MailTransport
import Synchronization

/// Logged-in IMAP connections kept open between polls, one replica's own (nothing is shared
/// between processes).
///
/// A fresh poll costs a TCP connection, a TLS handshake, LOGIN and LOGOUT on both sides; on a
/// kept connection it is one SELECT. A connection belongs to a *login* — server, port, security,
/// user name and password — not to an account: two accounts with the same login see the same
/// mailboxes, so they may use the same idle connection (never at once: a checked-out connection
/// is out of the cache until it is checked in).
///
/// Contract:
/// - `checkout` hands out an idle connection of the same login, or a new one (which connects on
///   its first command). A connection idle longer than `verifyAfter` must answer NOOP first;
///   one that does not is closed and replaced.
/// - `checkin` returns a connection after a poll that succeeded; `discard` closes one after any
///   error (a connection-level error may leave it in an unknown state).
/// - Idle connections older than `idleExpiry` are closed; past `maxIdle` the longest idle goes.
/// - Credentials are part of the key: when an account's login (e.g. its password) changes, the
///   next `checkout` for it closes every idle connection of its previous login, so a revoked
///   password is never used again from this cache.
public final class IMAPSessionCache: Sendable {
    public struct Configuration: Sendable {
        /// Most idle connections kept (each holds a socket, a server-side session and a thread).
        public var maxIdle = 256
        /// An idle connection older than this is closed.
        public var idleExpiry: Duration = .seconds(300)
        /// An idle connection older than this must answer NOOP before it is handed out.
        public var verifyAfter: Duration = .seconds(90)
        public init() {}
    }

    /// What identifies a login. The password is kept only as its SHA-256, so the key can be
    /// compared and printed without carrying the secret.
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
        var security: TransportSecurity
        var verifyTLS: Bool
        var username: String
        var passwordDigest: [UInt8]

        init(_ e: IMAPEndpoint) {
            host = e.host.lowercased()
            port = e.port
            security = e.security
            verifyTLS = e.verifyTLS
            username = e.username
            passwordDigest = SHA256.hash(e.password.value)
        }
    }

    /// Counters since the cache was made (for tests and metrics).
    public struct Stats: Sendable, Equatable {
        public var reused = 0, opened = 0, verifiedStale = 0, expired = 0, evicted = 0, invalidated = 0, discarded = 0
        public var idle = 0
    }

    private struct Entry: Sendable {
        var connection: IMAPConnection
        var idleSince: ContinuousClock.Instant
    }

    private struct State: Sendable {
        var idle: [Key: [Entry]] = [:]
        var idleCount = 0
        /// The login each account last checked out: a different one means its credentials changed.
        var accountKeys: [AccountID: Key] = [:]
        var stats = Stats()
        var closed = false
    }

    public let configuration: Configuration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    /// - Parameter now: the clock; tests pass one they move by hand.
    public init(_ configuration: Configuration = .init(),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.configuration = configuration
        self.now = now
    }

    public var stats: Stats { state.withLock { s in var out = s.stats; out.idle = s.idleCount; return out } }

    /// An idle connection of the endpoint's login, verified when it idled long, or a new one.
    public func checkout(account: AccountID, endpoint: IMAPEndpoint, threadName: String) async throws -> IMAPConnection {
        let key = Key(endpoint)
        let at = now()
        let (stale, candidate) = state.withLock { s -> ([IMAPConnection], Entry?) in
            var stale = expire(&s, at: at)
            if let previous = s.accountKeys[account], previous != key {
                let old = s.idle.removeValue(forKey: previous) ?? []
                s.idleCount -= old.count
                s.stats.invalidated += old.count
                stale += old.map(\.connection)
            }
            s.accountKeys[account] = key
            guard var list = s.idle[key], let entry = list.popLast() else { return (stale, nil) }
            s.idle[key] = list.isEmpty ? nil : list
            s.idleCount -= 1
            return (stale, entry)
        }
        for c in stale { c.close() }
        if let candidate {
            if at - candidate.idleSince <= configuration.verifyAfter {
                state.withLock { $0.stats.reused += 1 }
                return candidate.connection
            }
            do {
                try await candidate.connection.run { try $0.noop() }
                state.withLock { $0.stats.reused += 1 }
                return candidate.connection
            } catch {
                candidate.connection.close()
                state.withLock { $0.stats.verifiedStale += 1 }
            }
        }
        let connection = try await IMAPConnection(endpoint: endpoint, threadName: threadName)
        state.withLock { $0.stats.opened += 1 }
        return connection
    }

    /// Keeps a connection that just served a poll without error, for the next poll of its login.
    public func checkin(_ connection: IMAPConnection, endpoint: IMAPEndpoint) {
        let key = Key(endpoint)
        let at = now()
        let stale = state.withLock { s -> [IMAPConnection] in
            if s.closed { return [connection] }
            var stale = expire(&s, at: at)
            s.idle[key, default: []].append(Entry(connection: connection, idleSince: at))
            s.idleCount += 1
            while s.idleCount > configuration.maxIdle, let oldest = oldestKey(s) {
                stale.append(s.idle[oldest]!.removeFirst().connection)
                if s.idle[oldest]!.isEmpty { s.idle[oldest] = nil }
                s.idleCount -= 1
                s.stats.evicted += 1
            }
            return stale
        }
        for c in stale { c.close() }
    }

    /// Closes a connection after an error instead of keeping it.
    public func discard(_ connection: IMAPConnection) {
        connection.close()
        state.withLock { $0.stats.discarded += 1 }
    }

    /// Closes every idle connection of the account's last login (e.g. the account was disabled).
    public func invalidate(account: AccountID) {
        let stale = state.withLock { s -> [IMAPConnection] in
            guard let key = s.accountKeys.removeValue(forKey: account), let old = s.idle.removeValue(forKey: key) else { return [] }
            s.idleCount -= old.count
            s.stats.invalidated += old.count
            return old.map(\.connection)
        }
        for c in stale { c.close() }
    }

    /// Closes idle connections past `idleExpiry` now (also done on every checkout and checkin).
    public func closeExpired() {
        let at = now()
        let stale = state.withLock { expire(&$0, at: at) }
        for c in stale { c.close() }
    }

    /// Closes every idle connection; connections checked in later are closed at once.
    public func closeAll() {
        let stale = state.withLock { s -> [IMAPConnection] in
            s.closed = true
            defer { s.idle = [:]; s.idleCount = 0 }
            return s.idle.values.flatMap { $0.map(\.connection) }
        }
        for c in stale { c.close() }
    }

    /// Removes expired entries; the caller closes them outside the lock.
    private func expire(_ s: inout State, at: ContinuousClock.Instant) -> [IMAPConnection] {
        var stale: [IMAPConnection] = []
        for (key, list) in s.idle {
            // Entries are appended in time order: the expired ones are a prefix.
            let keep = list.drop { at - $0.idleSince > configuration.idleExpiry }
            guard keep.count < list.count else { continue }
            stale += list.prefix(list.count - keep.count).map(\.connection)
            s.idle[key] = keep.isEmpty ? nil : Array(keep)
        }
        s.idleCount -= stale.count
        s.stats.expired += stale.count
        return stale
    }

    private func oldestKey(_ s: State) -> Key? {
        s.idle.min { $0.value[0].idleSince < $1.value[0].idleSince }?.key
    }
}
