import CLibPQ
import Foundation
import MailCore
import MailIO

/// A dedicated connection that LISTENs on channels and waits for notifications.
///
/// Notifications are hints (QUEUE-NOTES): they wake idle workers early, and a worker that misses one
/// (connection lost, listener restarting) still finds the work by polling. LISTEN needs a session of
/// its own, so this never goes through the pool — nor through PgBouncer in transaction mode.
public final class PostgresListener: @unchecked Sendable {
    private let conninfo: String
    private let channels: [String]
    private let thread: IOThread
    // Touched only on `thread`.
    private var connection: PostgresConnection?

    public init(conninfo: String, channels: [String]) {
        self.conninfo = conninfo
        self.channels = channels
        self.thread = IOThread(name: "pg-listen")
    }

    /// Waits up to `timeout` for notifications; returns the channels that fired (empty on timeout).
    /// A lost connection is reopened on the next call; the error surfaces once so callers can log it.
    public func wait(timeout: Duration) async throws -> [String] {
        let ms = Int32(min(Double(timeout.components.seconds) * 1000 + Double(timeout.components.attoseconds) / 1e15, 60_000))
        return try await thread.run { [self] in
            let conn = try connected()
            var fired = drain(conn)
            if !fired.isEmpty { return fired }
            var pfd = pollfd(fd: PQsocket(conn.handle), events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, ms)
            if ready > 0 {
                if PQconsumeInput(conn.handle) == 0 {
                    connection = nil
                    throw PostgresError(code: .connectionLost, message: "listener connection lost")
                }
                fired = drain(conn)
            }
            return fired
        }
    }

    public func close() {
        thread.stop { [self] in connection = nil }
    }

    private func connected() throws -> PostgresConnection {
        if let c = connection, PQstatus(c.handle) == CONNECTION_OK { return c }
        let c = try PostgresConnection.open(conninfo: conninfo, applicationName: "mailroom-listener", thread: thread)
        for ch in channels {
            // Channel names are our own constants; quote them as identifiers all the same.
            try c.executeScript("LISTEN \"\(ch.replacingOccurrences(of: "\"", with: ""))\"")
        }
        connection = c
        return c
    }

    private func drain(_ conn: PostgresConnection) -> [String] {
        var out: [String] = []
        while let n = PQnotifies(conn.handle) {
            out.append(String(cString: n.pointee.relname))
            PQfreemem(n)
        }
        return out
    }
}
