import Foundation
import MailCore
import Yams

/// Readers for the manifest's value syntaxes: email addresses, durations, sizes, dates and secrets.
extension MappingReader {
    func email(_ key: String) -> Manifest.EmailAddress? {
        guard let value = value(key) else { return nil }
        return Self.email(value, path: child(key), diagnostics: diagnostics)
    }

    static func email(_ node: Node, path: String, diagnostics: Diagnostics) -> Manifest.EmailAddress? {
        guard let text = string(node, path: path, diagnostics: diagnostics) else { return nil }
        guard let address = Manifest.EmailAddress(text) else {
            diagnostics.report(path, node, "invalid email address \(quoted(text))")
            return nil
        }
        return address
    }

    /// A list of addresses, first one primary; a repeated address (ignoring case) is an error.
    func emails(_ key: String) -> [(address: Manifest.EmailAddress, path: String, node: Node)] {
        var registry = NameRegistry(kind: "address")
        var result: [(Manifest.EmailAddress, String, Node)] = []
        for (path, node) in sequence(key) {
            guard let address = Self.email(node, path: path, diagnostics: diagnostics) else { continue }
            if registry.register(address.address, path: path, node: node, diagnostics: diagnostics) {
                result.append((address, path, node))
            }
        }
        return result
    }

    /// `30s`, `5m`, `1h`, `1d`, combinations such as `1h30m`, or a bare number of seconds.
    func duration(_ key: String, default defaultValue: Duration, minimum: Duration, maximum: Duration? = nil) -> Duration {
        guard let value = value(key) else { return defaultValue }
        guard let text = value.scalar?.string, let duration = Self.parseDuration(text) else {
            diagnostics.report(child(key), value, "invalid duration (use e.g. 30s, 5m, 1h)")
            return defaultValue
        }
        guard duration >= minimum else {
            diagnostics.report(child(key), value, "must be at least \(Self.format(minimum))")
            return defaultValue
        }
        if let maximum, duration > maximum {
            diagnostics.report(child(key), value, "must be at most \(Self.format(maximum))")
            return defaultValue
        }
        return duration
    }

    static func parseDuration(_ text: String) -> Duration? {
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        var total = 0, number: Int?
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                number = (number ?? 0) * 10 + digit
                guard number! < 1_000_000_000 else { return nil }
                continue
            }
            let unit: Int
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard let value = number else { return nil }
            total += value * unit
            number = nil
        }
        guard number == nil, !text.isEmpty else { return nil }
        return .seconds(total)
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// Bytes: a bare number, or a number with `B`, `KB`, `MB`, `GB` (binary multiples: 1KB = 1024 bytes).
    func byteSize(_ key: String, default defaultValue: Int) -> Int {
        guard let value = value(key) else { return defaultValue }
        guard let text = value.scalar?.string, let size = Self.parseByteSize(text), size > 0 else {
            diagnostics.report(child(key), value, "invalid size (use e.g. 512KB, 10MB or a number of bytes)")
            return defaultValue
        }
        return size
    }

    static func parseByteSize(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let number = Int(digits) else { return nil }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).uppercased()
        let multipliers = ["": 1, "B": 1, "KB": 1 << 10, "KIB": 1 << 10, "MB": 1 << 20, "MIB": 1 << 20,
                           "GB": 1 << 30, "GIB": 1 << 30]
        guard let multiplier = multipliers[unit] else { return nil }
        return number * multiplier
    }

    func date(_ key: String) -> Manifest.CalendarDate? {
        guard let value = value(key) else { return nil }
        guard let text = value.scalar?.string, let date = Manifest.CalendarDate(iso: text) else {
            diagnostics.report(child(key), value, "invalid date (use YYYY-MM-DD)")
            return nil
        }
        return date
    }

    /// A secret written inline or as `env:NAME`, resolved from `environment`. No message ever contains the
    /// value, inline or resolved.
    func secret(_ key: String, environment: [String: String]) -> Secret? {
        guard let value = value(key) else { return nil }
        let path = child(key)
        guard case .scalar(let scalar) = value else {
            diagnostics.report(path, value, "expected a string")
            return nil
        }
        let text = scalar.string
        guard text.hasPrefix("env:") else {
            guard !text.isEmpty else {
                diagnostics.report(path, value, "must not be empty")
                return nil
            }
            return Secret(text)
        }
        let name = String(text.dropFirst(4))
        guard Self.isEnvironmentName(name) else {
            // The text may be a password that happens to start with "env:": don't echo it.
            diagnostics.report(path, value, "\"env:\" must be followed by an environment variable name")
            return nil
        }
        guard let resolved = environment[name] else {
            diagnostics.report(path, value, "environment variable \(name) is not set")
            return nil
        }
        guard !resolved.isEmpty else {
            diagnostics.report(path, value, "environment variable \(name) is empty")
            return nil
        }
        return Secret(resolved)
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter) else { return false }
        return name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// An absolute `http(s)://` URL without credentials or fragment: its text, whether it is `https`,
    /// and its host (brackets of an IPv6 literal removed). Reports anything else as invalid.
    func httpURL(_ key: String, required: Bool = false) -> (text: String, https: Bool, host: String)? {
        guard let text = required ? requiredString(key) : string(key) else { return nil }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              scheme == "https" || scheme == "http", url.user == nil, url.password == nil, url.fragment == nil
        else {
            report(key, "invalid URL \(quoted(text)) (an absolute https:// URL)")
            return nil
        }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return (text, scheme == "https", bareHost)
    }
}
