import Foundation
import Yams

/// Reads one YAML mapping whose keys are fixed: every key not in `keys` is reported as unknown, so a typo
/// never passes silently. Typed accessors report malformed values at the value's line and return nil (or
/// the default), letting parsing continue to collect further problems.
struct MappingReader {
    let path: String
    let node: Node
    let diagnostics: Diagnostics
    private var entries: [String: (key: Node, value: Node)] = [:]

    /// Nil (after reporting) when `node` is not a mapping.
    init?(_ node: Node, path: String, keys: [String], diagnostics: Diagnostics) {
        self.path = path
        self.node = node
        self.diagnostics = diagnostics
        guard case .mapping(let mapping) = node else {
            diagnostics.report(path, node, "expected a mapping")
            return nil
        }
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                diagnostics.report(path, key, "keys must be plain strings")
                continue
            }
            let name = scalar.string
            guard keys.contains(name) else {
                let hint = keys.min { editDistance($0, name) < editDistance($1, name) }
                    .flatMap { editDistance($0, name) <= 2 ? " (did you mean \(quoted($0))?)" : nil } ?? ""
                diagnostics.report(child(name), key, "unknown key\(hint)")
                continue
            }
            entries[name] = (key, value)
        }
    }

    var line: Int? { node.mark?.line }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value of `key`, or nil when absent or null (`~`, `null`, nothing).
    func value(_ key: String) -> Node? {
        guard let value = entries[key]?.value else { return nil }
        if value.null != nil { return nil }
        return value
    }

    /// The node of the key itself, for errors about the entry as a whole.
    func keyNode(_ key: String) -> Node? { entries[key]?.key }

    func has(_ key: String) -> Bool { value(key) != nil }

    /// Reports that a required key is missing, at the line of this mapping.
    func reportMissing(_ key: String, _ message: String = "required") {
        diagnostics.report(child(key), node, message)
    }

    func report(_ key: String, _ message: String) {
        diagnostics.report(child(key), value(key) ?? keyNode(key) ?? node, message)
    }

    // MARK: Scalars

    /// A non-empty string scalar.
    func string(_ key: String) -> String? {
        guard let value = value(key) else { return nil }
        return Self.string(value, path: child(key), diagnostics: diagnostics)
    }

    func requiredString(_ key: String) -> String? {
        guard has(key) else {
            reportMissing(key)
            return nil
        }
        return string(key)
    }

    static func string(_ node: Node, path: String, diagnostics: Diagnostics) -> String? {
        guard case .scalar(let scalar) = node else {
            diagnostics.report(path, node, "expected a string")
            return nil
        }
        guard !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty else {
            diagnostics.report(path, node, "must not be empty")
            return nil
        }
        return scalar.string
    }

    func bool(_ key: String, default defaultValue: Bool) -> Bool {
        guard let value = value(key) else { return defaultValue }
        // Only true/false: YAML 1.1's yes/no/on/off are too easy to write by accident.
        switch value.scalar?.string.lowercased() {
        case "true": return true
        case "false": return false
        default:
            diagnostics.report(child(key), value, "expected true or false")
            return defaultValue
        }
    }

    func int(_ key: String, default defaultValue: Int? = nil, in range: ClosedRange<Int>) -> Int? {
        guard let value = value(key) else { return defaultValue }
        guard let text = value.scalar?.string, let number = Int(text) else {
            diagnostics.report(child(key), value, "expected an integer")
            return defaultValue
        }
        guard range.contains(number) else {
            diagnostics.report(child(key), value, "must be between \(range.lowerBound) and \(range.upperBound)")
            return defaultValue
        }
        return number
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: E) -> E
    where E.RawValue == String {
        guard let value = value(key) else { return defaultValue }
        guard let text = value.scalar?.string, let result = E(rawValue: text) else {
            let choices = E.allCases.map(\.rawValue).joined(separator: ", ")
            diagnostics.report(child(key), value, "expected one of \(choices)")
            return defaultValue
        }
        return result
    }

    // MARK: Collections

    /// The items of a list, each with its path (`key[i]`); empty when absent.
    func sequence(_ key: String) -> [(path: String, node: Node)] {
        guard let value = value(key) else { return [] }
        guard case .sequence(let sequence) = value else {
            diagnostics.report(child(key), value, "expected a list")
            return []
        }
        return sequence.enumerated().map { ("\(child(key))[\($0.offset)]", $0.element) }
    }

    /// A list of non-empty strings; duplicates are reported with `kind` (`duplicate folder "INBOX"`).
    func strings(_ key: String, kind: String) -> [String] {
        var registry = NameRegistry(kind: kind)
        for (path, node) in sequence(key) {
            if let text = Self.string(node, path: path, diagnostics: diagnostics) {
                _ = registry.register(text, path: path, node: node, diagnostics: diagnostics)
            }
        }
        return registry.names
    }

    /// A nested mapping with its own fixed keys; nil when absent or malformed.
    func mapping(_ key: String, keys: [String]) -> MappingReader? {
        guard let value = value(key) else { return nil }
        return MappingReader(value, path: child(key), keys: keys, diagnostics: diagnostics)
    }
}
