/// The one error type of the store. Its `description` carries the SQLSTATE and the server's primary
/// message but never connection parameters or bound values, so it is safe to log (STYLE.md §10).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case connectionFailed
        case connectionLost
        case queryFailed
        case decodingFailed
        case migrationFailed
        case poolClosed
        case invalidConfiguration
    }

    public var code: Code
    /// Five-character SQLSTATE when the server reported one (`23505` unique violation, `42501` ...).
    public var sqlState: String?
    /// The server's primary message, or ours. Never contains bound parameter values or passwords.
    public var message: String
    public var detail: String?
    /// Schema, table and constraint names the server reported, when any.
    public var constraint: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil, constraint: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.constraint = constraint
    }

    public var description: String {
        var s = "postgres \(code)"
        if let sqlState { s += " [\(sqlState)]" }
        s += ": \(message)"
        if let constraint { s += " (constraint \(constraint))" }
        return s
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isInsufficientPrivilege: Bool { sqlState == "42501" }
    /// Serialization failure or deadlock: the transaction may simply be retried.
    public var isRetryable: Bool {
        sqlState == "40001" || sqlState == "40P01" || code == .connectionLost || code == .connectionFailed
    }
}
