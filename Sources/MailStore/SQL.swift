import Foundation
import MailCore

/// A SQL statement whose interpolated values become bound parameters (`$1`, `$2` ...), never text.
///
/// `"SELECT * FROM email WHERE tenant_id = \(tenant)"` binds `tenant`; raw SQL fragments need the
/// explicit `\(unsafeRaw:)` label (postgres-nio's rule), so injection cannot happen by accident.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String
    public private(set) var binds: [PostgresBind]

    public init(stringLiteral value: String) {
        text = value
        binds = []
    }

    public init(unsafeSQL text: String, binds: [PostgresBind] = []) {
        self.text = text
        self.binds = binds
    }

    public init(stringInterpolation: Interpolation) {
        text = stringInterpolation.text
        binds = stringInterpolation.binds
    }

    /// Only the statement text: bound values stay out of logs.
    public var description: String { text }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""
        var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 3)
        }
        public mutating func appendLiteral(_ literal: String) { text += literal }

        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T) {
            binds.append(value.postgresBind)
            text += "$\(binds.count)"
        }
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            binds.append(value?.postgresBind ?? .null)
            text += "$\(binds.count)"
        }
        public mutating func appendInterpolation(unsafeRaw fragment: String) { text += fragment }
    }
}

/// One bound parameter: text format for everything but bytea, which goes binary to avoid hex
/// doubling message bodies and attachments on the wire.
public enum PostgresBind: Sendable, Equatable {
    case null
    case text(String)
    case binary([UInt8])
}

/// A Swift value that can be bound as a statement parameter.
public protocol PostgresEncodable: Sendable {
    var postgresBind: PostgresBind { get }
}

extension String: PostgresEncodable { public var postgresBind: PostgresBind { .text(self) } }
extension Int: PostgresEncodable { public var postgresBind: PostgresBind { .text(String(self)) } }
extension Int64: PostgresEncodable { public var postgresBind: PostgresBind { .text(String(self)) } }
extension Int32: PostgresEncodable { public var postgresBind: PostgresBind { .text(String(self)) } }
extension UInt32: PostgresEncodable { public var postgresBind: PostgresBind { .text(String(self)) } }
extension Double: PostgresEncodable { public var postgresBind: PostgresBind { .text(String(self)) } }
extension Bool: PostgresEncodable { public var postgresBind: PostgresBind { .text(self ? "t" : "f") } }
extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresBind: PostgresBind { .binary(self) }
}
extension Date: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(PostgresTimestamp.format(self)) }
}
extension TenantID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension UserID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension TeamID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension AccountID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension FolderID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension EmailID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension UID: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }
extension UIDValidity: PostgresEncodable { public var postgresBind: PostgresBind { .text(description) } }

/// A Postgres array literal bound as text (`{"a","b"}`), for `= ANY($1)` and `unnest($1)`.
public struct PostgresArray<Element: PostgresArrayElement>: PostgresEncodable {
    public var elements: [Element?]
    public init(_ elements: [Element?]) { self.elements = elements }
    public init(_ elements: [Element]) { self.elements = elements.map { $0 } }
    public var postgresBind: PostgresBind {
        .text("{" + elements.map { $0.map { $0.arrayLiteralElement } ?? "NULL" }.joined(separator: ",") + "}")
    }
}

public protocol PostgresArrayElement: Sendable {
    var arrayLiteralElement: String { get }
}
extension String: PostgresArrayElement {
    /// Quoted, with `\` and `"` escaped. Works on UTF-8 bytes (both are single ASCII bytes there):
    /// Foundation's `replacingOccurrences` showed up in profiles of the import.
    public var arrayLiteralElement: String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 2)
        for b in utf8 {
            if b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }
}
extension Int64: PostgresArrayElement { public var arrayLiteralElement: String { String(self) } }
extension Int: PostgresArrayElement { public var arrayLiteralElement: String { String(self) } }
extension Bool: PostgresArrayElement { public var arrayLiteralElement: String { self ? "t" : "f" } }
extension Date: PostgresArrayElement { public var arrayLiteralElement: String { "\"\(PostgresTimestamp.format(self))\"" } }

/// A JSON document bound as text; cast it in SQL (`\(json)::jsonb`).
public struct PostgresJSON: PostgresEncodable {
    public var text: String
    public init(text: String) { self.text = text }
    public init<T: Encodable>(_ value: T) throws {
        let data = try JSONEncoder().encode(value)
        text = String(decoding: data, as: UTF8.self)
    }

    /// An array of arrays of strings (how header fields are stored), written directly: the same
    /// document `init(_:)` makes, without `JSONEncoder`, which showed up in profiles of the import.
    public init(rows: [[String]]) {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, row) in rows.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            for (j, value) in row.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendString(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        text = String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    static func appendString(_ value: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
    public var postgresBind: PostgresBind { .text(text) }
}
