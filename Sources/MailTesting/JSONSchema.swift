import Foundation

/// A validator for the subset of JSON Schema (draft 2020-12) that the event schemas use
/// (docs/events/): `type` (a name or a list of names), `properties`, `required`,
/// `additionalProperties: false`, `enum`, `format: "date-time"` (RFC 3339 §5.6), `items` (one schema for
/// every element), `minItems`, and the annotations
/// `$schema`, `$id`, `title` and `description`. Any other keyword is an error when the schema is read,
/// so a schema never silently asks for more than is checked.
public struct JSONSchema: Sendable {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    static let keywords: Set<String> = ["$schema", "$id", "title", "description", "type", "properties", "required",
                                        "additionalProperties", "enum", "format", "items", "minItems"]
    static let typeNames: Set<String> = ["null", "boolean", "integer", "number", "string", "array", "object"]

    let root: JSONValue

    /// Reads a schema; throws `Invalid` for a keyword or value outside the subset.
    public init(json: String) throws {
        root = try JSONValue(parsing: json)
        try Self.check(root, at: "#")
    }

    /// The violations of `instance` (a JSON text), each as "<JSON pointer>: <reason>"; empty when valid.
    public func violations(of instance: String) throws -> [String] {
        var out: [String] = []
        Self.validate(try JSONValue(parsing: instance), against: root, at: "", into: &out)
        return out
    }

    // MARK: Reading the schema

    private static func check(_ schema: JSONValue, at path: String) throws {
        guard case .object(let s) = schema else { throw Invalid(description: "\(path): a schema must be an object") }
        for key in s.keys where !keywords.contains(key) { throw Invalid(description: "\(path): unsupported keyword \(key)") }
        if let type = s["type"] {
            let names: [JSONValue]
            if case .array(let list) = type { names = list } else { names = [type] }
            for name in names {
                guard case .string(let n) = name, typeNames.contains(n) else { throw Invalid(description: "\(path)/type: unknown type") }
            }
        }
        if let props = s["properties"] {
            guard case .object(let p) = props else { throw Invalid(description: "\(path)/properties: must be an object") }
            for (name, sub) in p { try check(sub, at: "\(path)/properties/\(name)") }
        }
        if let required = s["required"] {
            guard case .array(let r) = required, r.allSatisfy({ if case .string = $0 { true } else { false } }) else {
                throw Invalid(description: "\(path)/required: must be an array of names")
            }
        }
        if let additional = s["additionalProperties"], additional != .bool(false) {
            throw Invalid(description: "\(path)/additionalProperties: only false is supported")
        }
        if let e = s["enum"] {
            guard case .array = e else { throw Invalid(description: "\(path)/enum: must be an array") }
        }
        if let format = s["format"], format != .string("date-time") {
            throw Invalid(description: "\(path)/format: only date-time is supported")
        }
        if let items = s["items"] { try check(items, at: "\(path)/items") }
        if let minimum = s["minItems"] {
            guard case .integer(let n) = minimum, n >= 0 else { throw Invalid(description: "\(path)/minItems: must be a count") }
        }
    }

    // MARK: Validating

    private static func validate(_ value: JSONValue, against schema: JSONValue, at path: String, into out: inout [String]) {
        guard case .object(let s) = schema else { return }
        let here = path.isEmpty ? "/" : path
        if let type = s["type"] {
            let allowed: [String]
            switch type {
            case .string(let n): allowed = [n]
            case .array(let list): allowed = list.compactMap { if case .string(let n) = $0 { n } else { nil } }
            default: allowed = []
            }
            if value.typeNames.isDisjoint(with: allowed) {
                out.append("\(here): expected \(allowed.joined(separator: " or ")), found \(value.typeNames.sorted().last ?? "?")")
                return
            }
        }
        if case .array(let options) = s["enum"], !options.contains(where: { $0 == value || numericallyEqual($0, value) }) {
            out.append("\(here): not one of the allowed values")
        }
        if s["format"] == .string("date-time"), case .string(let text) = value, !isDateTime(text) {
            out.append("\(here): not an RFC 3339 date-time")
        }
        if case .array(let elements) = value {
            if case .integer(let minimum) = s["minItems"], elements.count < minimum {
                out.append("\(here): fewer than \(minimum) items")
            }
            if let items = s["items"] {
                for (i, element) in elements.enumerated() { validate(element, against: items, at: "\(path)/\(i)", into: &out) }
            }
        }
        guard case .object(let object) = value else { return }
        let properties: [String: JSONValue]
        if case .object(let p) = s["properties"] { properties = p } else { properties = [:] }
        if case .array(let required) = s["required"] {
            for case .string(let name) in required where object[name] == nil { out.append("\(here): missing required property \(name)") }
        }
        for (name, member) in object.sorted(by: { $0.key < $1.key }) {
            if let sub = properties[name] {
                validate(member, against: sub, at: "\(path)/\(name)", into: &out)
            } else if s["additionalProperties"] == .bool(false) {
                out.append("\(here): property \(name) is not allowed")
            }
        }
    }

    private static func numericallyEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .number(let y)), (.number(let y), .integer(let x)): return Double(x) == y
        default: return false
        }
    }

    /// RFC 3339 §5.6 `date-time`: full-date "T" full-time, with a fraction optional and the offset
    /// `Z` or ±hh:mm; fields within their ranges (a leap second 60 allowed).
    public static func isDateTime(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, digits(0, 4) != nil, b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
              let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return false }
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard i > start else { return false }
        }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") { return i + 1 == b.count }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count,
              let oh = digits(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2), oh < 24, om < 60
        else { return false }
        return true
    }
}
