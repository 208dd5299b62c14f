import Foundation
import MailCore

/// The rows of one result, copied out of the `PGresult` so they outlive it and cross threads.
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    let values: [[String?]]
    /// Rows affected by INSERT / UPDATE / DELETE (`PQcmdTuples`).
    public let affectedRows: Int

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var first: PostgresRow? { values.isEmpty ? nil : PostgresRow(columns: columns, values: values[0]) }

    public func makeIterator() -> AnyIterator<PostgresRow> {
        var i = 0
        return AnyIterator {
            guard i < values.count else { return nil }
            defer { i += 1 }
            return PostgresRow(columns: columns, values: values[i])
        }
    }

    /// The single row a statement must return; a clear error when it returned none.
    public func one() throws(PostgresError) -> PostgresRow {
        guard let row = first else {
            throw PostgresError(code: .decodingFailed, message: "expected one row, got none")
        }
        return row
    }
}

/// One row. Columns decode by position or name into any `PostgresDecodable` type.
public struct PostgresRow: Sendable {
    public let columns: [String]
    let values: [String?]

    public func isNull(_ index: Int) -> Bool { values[index] == nil }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws(PostgresError) -> T {
        guard index < values.count else {
            throw PostgresError(code: .decodingFailed, message: "no column \(index)")
        }
        guard let text = values[index] else {
            if let nilValue = T.nullValue { return nilValue }
            throw PostgresError(code: .decodingFailed, message: "column \(columns[index]) is NULL, expected \(T.self)")
        }
        guard let v = T(postgresText: text) else {
            throw PostgresError(code: .decodingFailed, message: "column \(columns[index]) is not a valid \(T.self)")
        }
        return v
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws(PostgresError) -> T {
        guard let i = columns.firstIndex(of: name) else {
            throw PostgresError(code: .decodingFailed, message: "no column named \(name)")
        }
        return try decode(type, at: i)
    }

    public subscript<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) -> T {
        get throws(PostgresError) { try decode(type, name) }
    }
}

/// A Swift type that decodes from Postgres's text output format.
public protocol PostgresDecodable: Sendable {
    init?(postgresText: String)
    /// The value a SQL NULL decodes to; `nil` means NULL is an error for this type.
    static var nullValue: Self? { get }
}

extension PostgresDecodable {
    public static var nullValue: Self? { nil }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init?(postgresText: String) {
        guard let w = Wrapped(postgresText: postgresText) else { return nil }
        self = .some(w)
    }
    public static var nullValue: Wrapped?? { .some(nil) }
}

extension String: PostgresDecodable { public init?(postgresText: String) { self = postgresText } }
extension Int: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Int64: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Int32: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension UInt32: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Double: PostgresDecodable { public init?(postgresText: String) { self.init(postgresText) } }
extension Bool: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}
extension Date: PostgresDecodable {
    public init?(postgresText: String) {
        guard let d = PostgresTimestamp.parse(postgresText) else { return nil }
        self = d
    }
}
extension Array: PostgresDecodable where Element == UInt8 {
    /// bytea in hex output (`\x48656c6c6f`), the server default since 9.0.
    public init?(postgresText: String) {
        var text = postgresText
        // Native strings are contiguous UTF-8: decode in place rather than copying the text first.
        guard let decoded = text.withUTF8({ Self.decodeHex($0) }) else { return nil }
        self = decoded
    }

    private static func decodeHex(_ u: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard u.count >= 2, u[0] == UInt8(ascii: "\\"), u[1] == UInt8(ascii: "x"), u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((u.count - 2) / 2)
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 2
        while i < u.count {
            guard let h = hex(u[i]), let l = hex(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

/// Text arrays (`{a,"b c",NULL}`) decode into `[String]`; NULL elements are dropped.
public struct PostgresTextArray: PostgresDecodable, Sendable, Equatable {
    public var elements: [String]
    public init?(postgresText: String) {
        var out: [String] = []
        var chars = Array(postgresText.unicodeScalars)
        guard chars.first == "{", chars.last == "}" else { return nil }
        chars = Array(chars.dropFirst().dropLast())
        var i = 0
        while i < chars.count {
            var item = ""
            var quoted = false
            if chars[i] == "\"" {
                quoted = true
                i += 1
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    item.unicodeScalars.append(chars[i])
                    i += 1
                }
                i += 1
            } else {
                while i < chars.count, chars[i] != "," { item.unicodeScalars.append(chars[i]); i += 1 }
            }
            if quoted || item != "NULL" { out.append(item) }
            i += 1 // skip comma
        }
        elements = out
    }
}

extension TenantID: PostgresDecodable { public init?(postgresText: String) { guard let v = Int64(postgresText) else { return nil }; self.init(v) } }
extension UserID: PostgresDecodable { public init?(postgresText: String) { guard let v = Int64(postgresText) else { return nil }; self.init(v) } }
extension TeamID: PostgresDecodable { public init?(postgresText: String) { guard let v = Int64(postgresText) else { return nil }; self.init(v) } }
extension AccountID: PostgresDecodable { public init?(postgresText: String) { guard let v = Int64(postgresText) else { return nil }; self.init(v) } }
extension FolderID: PostgresDecodable { public init?(postgresText: String) { guard let v = Int64(postgresText) else { return nil }; self.init(v) } }
extension EmailID: PostgresDecodable { public init?(postgresText: String) { guard let v = Int64(postgresText) else { return nil }; self.init(v) } }
extension UID: PostgresDecodable { public init?(postgresText: String) { guard let v = UInt32(postgresText) else { return nil }; self.init(v) } }
extension UIDValidity: PostgresDecodable { public init?(postgresText: String) { guard let v = UInt32(postgresText) else { return nil }; self.init(v) } }

/// An enumerated setting stored as text decodes to its case, and any other text is a decoding error
/// naming the column: an unknown value is never read as a default (STYLE.md §6).
extension PostgresDecodable where Self: RawRepresentable, RawValue == String {
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}
