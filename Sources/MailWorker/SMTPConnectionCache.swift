import MailCore
import MailStore
import MailTransport
import Synchronization

/// Open SMTP connections by account, reused across sends (libcurl keeps each one open).
///
/// Up to `limit` connections per key are in use at once, where `limit` is the smaller of the
/// account's `smtp_max_connections` and this worker's `perAccountCap`: a send takes an idle
/// connection, else opens one while fewer than `limit` are in use, else waits until one is handed
/// back; it never fails for want of a connection. A connection whose send failed is closed (only
/// that one: the account's other connections keep working, so one refused login or dropped
/// connection never closes the rest), and its place goes to the next waiting send.
///
/// Waiting is not cancelled: a waiting send gets its connection when a send in progress ends, which
/// libcurl's timeouts bound (`SMTPEndpoint.ioTimeout`).
final class SMTPConnectionCache: Sendable {
    /// The worker's default cap, above the default account limit (3) so the account's limit decides.
    static let defaultPerAccountCap = 4
    /// The accepted range of both the worker's cap and an account's limit (the column's CHECK).
    static let allowedConnections = 1...20

    /// What one key holds, for tests and metrics.
    struct Usage: Sendable, Equatable {
        var idle = 0
        /// Connections handed out now (being opened or sending).
        var busy = 0
        /// Sends waiting for a connection.
        var waiting = 0
        /// Connections opened under this key so far.
        var opened = 0
        /// The most connections ever in use at once under this key.
        var peakBusy = 0
    }

    private struct Entry {
        var idle: [SMTPConnection] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        var usage = Usage()

        mutating func take() {
            usage.busy += 1
            usage.peakBusy = max(usage.peakBusy, usage.busy)
        }
    }

    private enum Grant {
        case reuse(SMTPConnection)
        case open
        case wait
    }

    let perAccountCap: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(perAccountCap: Int = defaultPerAccountCap) {
        precondition(Self.allowedConnections.contains(perAccountCap), "SMTP connections per account out of range")
        self.perAccountCap = perAccountCap
    }

    static func key(tenant: TenantID, account: SMTPAccount) -> String {
        // Settings are part of the key: changed credentials, servers, certificate checking or SASL
        // mechanism never reuse a connection opened under the old ones.
        "\(tenant)/\(account.id)/\(account.host ?? "")/\(account.port ?? 0)/\(account.security)/\(account.verifyTLS)/\(account.auth)/"
            + "\(account.username ?? "")/\(account.secret?.hashValue ?? 0)"
    }

    /// Runs `body` with a connection of `key` (see the type's contract), at most
    /// `min(limit, perAccountCap)` of them at once. When `body` throws, its connection is closed.
    func withConnection<T: Sendable>(key: String, limit: Int, endpoint: SMTPEndpoint,
                                     _ body: (SMTPConnection) async throws -> T) async throws -> T {
        let connection = try await checkOut(key: key, limit: max(1, min(limit, perAccountCap)), endpoint: endpoint)
        let result: T
        do {
            result = try await body(connection)
        } catch {
            release(key: key, returning: nil)
            connection.close()
            throw error
        }
        release(key: key, returning: connection)
        return result
    }

    func usage(key: String) -> Usage { usages[key] ?? Usage() }

    /// Every key's usage.
    var usages: [String: Usage] {
        entries.withLock { all in
            all.mapValues { e in
                var u = e.usage
                u.idle = e.idle.count
                u.waiting = e.waiters.count
                return u
            }
        }
    }

    private func checkOut(key: String, limit: Int, endpoint: SMTPEndpoint) async throws -> SMTPConnection {
        while true {
            switch entries.withLock({ Self.grant(&$0[key, default: Entry()], limit: limit) }) {
            case .reuse(let connection):
                return connection
            case .open:
                do {
                    let connection = try await SMTPConnection(endpoint: endpoint, threadName: "smtp")
                    entries.withLock { $0[key, default: Entry()].usage.opened += 1 }
                    return connection
                } catch {
                    release(key: key, returning: nil)
                    throw error
                }
            case .wait:
                // Queued under the same lock that saw no room, so a hand-back in between is not missed.
                await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
                    let roomNow = entries.withLock { all -> Bool in
                        let e = all[key, default: Entry()]
                        if !e.idle.isEmpty || e.usage.busy < limit { return true }
                        all[key, default: Entry()].waiters.append(cont)
                        return false
                    }
                    if roomNow { cont.resume() }
                }
            }
        }
    }

    private static func grant(_ e: inout Entry, limit: Int) -> Grant {
        if let connection = e.idle.popLast() {
            e.take()
            return .reuse(connection)
        }
        guard e.usage.busy < limit else { return .wait }
        e.take()
        return .open
    }

    /// Ends one use: the connection goes back to the idle ones (nil: it was closed or never opened)
    /// and the longest-waiting send, if any, tries again.
    private func release(key: String, returning connection: SMTPConnection?) {
        let waiter = entries.withLock { all -> CheckedContinuation<Void, Never>? in
            var e = all[key, default: Entry()]
            e.usage.busy -= 1
            if let connection { e.idle.append(connection) }
            let waiter = e.waiters.isEmpty ? nil : e.waiters.removeFirst()
            all[key] = e
            return waiter
        }
        waiter?.resume()
    }
}
