import CLibPQ
import Foundation
import MailCore
import MailIO

/// One libpq connection, the sole owner of its `PGconn*`.
///
/// Every call blocks, so a connection is confined to its own `IOThread`: the pool hands it out only
/// inside `thread.run { }`, and nothing else touches the handle. That confinement is why the type
/// may be marked `@unchecked Sendable`.
public final class PostgresConnection: @unchecked Sendable {
    let handle: OpaquePointer
    public let thread: IOThread
    /// Set when the server connection broke; the pool discards such connections.
    public private(set) var isBroken = false

    /// Opens a connection. Blocking: call it on the connection's thread (the pool does).
    /// `conninfo` is a libpq URL or key=value string; it never appears in errors.
    static func open(conninfo: String, applicationName: String, thread: IOThread) throws(PostgresError) -> PostgresConnection {
        guard let conn = PQconnectdb(conninfo) else {
            throw PostgresError(code: .connectionFailed, message: "out of memory creating connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let msg = Self.sanitized(String(cString: PQerrorMessage(conn)))
            PQfinish(conn)
            throw PostgresError(code: .connectionFailed, message: msg)
        }
        // Server NOTICEs (e.g. "relation already exists, skipping") would go to stderr by default;
        // they are informational and not ours to print.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        let c = PostgresConnection(handle: conn, thread: thread)
        // Fixed session settings that the text decoders rely on.
        try c.execute("SELECT set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false), set_config('application_name', \(applicationName), false)")
        return c
    }

    /// Opens a connection outside any pool, on a thread of its own: for session state that must live
    /// as long as the connection (LISTEN, a leader's advisory lock).
    public static func connect(conninfo: String, applicationName: String) async throws -> PostgresConnection {
        let thread = IOThread(name: "pg-\(applicationName)")
        do {
            return try await thread.run { try open(conninfo: conninfo, applicationName: applicationName, thread: thread) }
        } catch {
            thread.stop()
            throw error
        }
    }

    /// Runs a block of statements on this connection's thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await thread.run { try body(self) }
    }

    private init(handle: OpaquePointer, thread: IOThread) {
        self.handle = handle
        self.thread = thread
    }

    deinit {
        PQfinish(handle)
    }

    /// Checks, without a round trip, whether the server is closing this idle connection (it restarted,
    /// or the backend was terminated): the server then sends a FATAL error and closes the socket. Between
    /// statements a pooled connection expects nothing from the server, so anything readable counts: the
    /// connection is marked broken and true returned. Replacing a connection that merely received a stray
    /// message costs one reconnect; using a dying one costs the caller's statement. Call only between
    /// statements, on the connection's thread, and not on a connection that LISTENs.
    public func closedWhileIdle() -> Bool {
        if isBroken { return true }
        var pfd = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        // A FATAL message can arrive a moment before the close itself, so readable is enough.
        guard poll(&pfd, 1, 0) != 0 else { return false }
        isBroken = true
        return true
    }

    /// Statements prepared on this session, by text: their names for `PQexecPrepared`.
    var preparedNames: [String: String] = [:]

    /// Runs one statement with bound parameters and returns its rows.
    ///
    /// With `prepared`, the statement is parsed and planned once per connection (PQprepare) and then
    /// only executed: for hot statements whose planning costs more than their execution (the queue's
    /// claim and completion). The server may switch such a statement to a generic plan after five runs.
    @discardableResult
    public func query(_ sql: SQL, prepared: Bool = false) throws(PostgresError) -> PostgresRows {
        let n = sql.binds.count
        var name: String?
        if prepared {
            if let known = preparedNames[sql.text] {
                name = known
            } else {
                let fresh = "mailroom_\(preparedNames.count + 1)"
                _ = try consume(PQprepare(handle, fresh, sql.text, Int32(n), nil))
                preparedNames[sql.text] = fresh
                name = fresh
            }
        }
        let result: OpaquePointer? = sql.binds.withLibPQParameters { (count, values, lengths, formats) -> OpaquePointer? in
            if let name {
                return PQexecPrepared(handle, name, count, values, lengths, formats, 0)
            }
            return PQexecParams(handle, sql.text, count, nil, values, lengths, formats, 0)
        }
        return try consume(result)
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: SQL, prepared: Bool = false) throws(PostgresError) -> Int {
        try query(sql, prepared: prepared).affectedRows
    }

    /// Runs several statements in one round trip with no parameters (migrations, `BEGIN`).
    public func executeScript(_ text: String) throws(PostgresError) {
        var res = PQexec(handle, text)
        var firstError: PostgresError?
        // PQexec returns only the last result; errors stop the script, so one check suffices.
        do { _ = try consume(res) } catch { firstError = error }
        res = nil
        if let firstError { throw firstError }
    }

    /// Runs `body` in a transaction. With a tenant, the transaction carries it in
    /// `mailroom.tenant_id`, the setting every row-level security policy reads.
    public func transaction<T>(tenant: TenantID? = nil, isolation: String? = nil, _ body: () throws -> T) throws -> T {
        let begin = isolation.map { "BEGIN ISOLATION LEVEL \($0)" } ?? "BEGIN"
        // BEGIN and the tenant setting in one round trip: a tenant id is an integer, so writing it
        // into the text cannot inject anything.
        try executeScript(tenant.map { "\(begin); SELECT set_config('mailroom.tenant_id', '\($0.rawValue)', true)" } ?? begin)
        do {
            let value = try body()
            try executeScript("COMMIT")
            return value
        } catch {
            if !isBroken { try? executeScript("ROLLBACK") }
            throw error
        }
    }

    func consume(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw fail(message: String(cString: PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let rows = Int(PQntuples(result))
            let cols = Int(PQnfields(result))
            var names = [String]()
            names.reserveCapacity(cols)
            for c in 0..<cols { names.append(String(cString: PQfname(result, Int32(c)))) }
            var values = [[String?]]()
            values.reserveCapacity(rows)
            for r in 0..<rows {
                var row = [String?]()
                row.reserveCapacity(cols)
                for c in 0..<cols {
                    if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                        row.append(nil)
                    } else {
                        let len = Int(PQgetlength(result, Int32(r), Int32(c)))
                        let ptr = PQgetvalue(result, Int32(r), Int32(c))!
                        row.append(ptr.withMemoryRebound(to: UInt8.self, capacity: len) {
                            String(decoding: UnsafeBufferPointer(start: $0, count: len), as: UTF8.self)
                        })
                    }
                }
                values.append(row)
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            return PostgresRows(columns: names, values: values, affectedRows: affected)
        default:
            func field(_ code: UInt8) -> String? {
                guard let p = PQresultErrorField(result, Int32(code)) else { return nil }
                return String(cString: p)
            }
            let state = field(UInt8(ascii: "C"))
            let message = field(UInt8(ascii: "M")) ?? String(cString: PQresultErrorMessage(result))
            if PQstatus(handle) != CONNECTION_OK {
                isBroken = true
                throw PostgresError(code: .connectionLost, sqlState: state, message: Self.sanitized(message))
            }
            // DETAIL can echo row values (a duplicate key's value); keep it out of the description
            // but available to callers that decide what to show.
            throw PostgresError(code: .queryFailed, sqlState: state, message: Self.redactingValues(message, sqlState: state),
                                detail: field(UInt8(ascii: "D")), constraint: field(UInt8(ascii: "n")))
        }
    }

    func fail(message: String) -> PostgresError {
        if PQstatus(handle) != CONNECTION_OK {
            isBroken = true
            return PostgresError(code: .connectionLost, message: Self.sanitized(message))
        }
        return PostgresError(code: .queryFailed, message: Self.sanitized(message))
    }

    /// Data exceptions (SQLSTATE class 22) quote the offending input value, which may be a secret or
    /// a message body: keep the server's wording up to the value and drop the value itself.
    static func redactingValues(_ message: String, sqlState: String?) -> String {
        guard let state = sqlState, state.hasPrefix("22"), let r = message.range(of: ": \"") else { return message }
        return message[..<r.lowerBound] + ": <value withheld>"
    }

    /// libpq's connection errors name host and user but never the password; trim whitespace only,
    /// and drop anything that looks like a conninfo echo just in case.
    static func sanitized(_ message: String) -> String {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.contains("password=") || trimmed.contains("://") {
            return "connection failed (details withheld: they contained connection parameters)"
        }
        return trimmed.isEmpty ? "connection failed" : trimmed
    }
}
