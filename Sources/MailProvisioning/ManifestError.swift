/// One problem in a manifest, located by key path and line.
///
/// `description` reads `users[2].teams: unknown team "suport" (line 12)`. Messages never contain secret values:
/// passwords are neither echoed when they are malformed nor when an `env:` reference fails.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path with list indexes, e.g. `group_accounts[0].imap.password`; empty for document-level
    /// problems such as YAML syntax errors.
    public var path: String
    /// 1-based line in the manifest text, when known.
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        let located = path.isEmpty ? message : "\(path): \(message)"
        guard let line else { return located }
        return "\(located) (line \(line))"
    }
}

/// Every problem found in one manifest, in document order. `ManifestParser.parse` throws the first;
/// `ManifestParser.check` returns them all so an operator can fix a manifest in one pass.
public struct ManifestErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ManifestError]

    public init(_ errors: [ManifestError]) { self.errors = errors }

    /// One problem per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
