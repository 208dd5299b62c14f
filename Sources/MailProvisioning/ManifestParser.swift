import Yams

/// Turns manifest YAML into a validated `Manifest`. Pure: no I/O beyond reading `environment`.
public enum ManifestParser {
    /// Parses and validates `yaml`, resolving `env:NAME` secrets from `environment`.
    /// Throws the first problem in document order; use `check` to get all of them.
    public static func parse(_ yaml: String, environment: [String: String]) throws(ManifestError) -> Manifest {
        switch check(yaml, environment: environment) {
        case .success(let manifest): return manifest
        case .failure(let errors): throw errors.errors[0]
        }
    }

    /// Parses and validates `yaml`, returning every problem found (in document order) on failure.
    public static func check(_ yaml: String, environment: [String: String]) -> Result<Manifest, ManifestErrors> {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                return .failure(ManifestErrors([ManifestError(path: "", line: nil, message: "manifest is empty")]))
            }
            root = node
        } catch {
            return .failure(ManifestErrors([syntaxError(error)]))
        }
        let reader = ManifestReader(environment: environment)
        let manifest = reader.read(root)
        let errors = reader.diagnostics.sorted
        if let manifest, errors.isEmpty { return .success(manifest) }
        return .failure(ManifestErrors(errors.isEmpty
            ? [ManifestError(path: "", line: nil, message: "manifest is invalid")] : errors))
    }

    /// A YAML syntax error without Yams' snippet of the offending line, which could be a password.
    static func syntaxError(_ error: any Error) -> ManifestError {
        guard let error = error as? YamlError else {
            return ManifestError(path: "", line: nil, message: "invalid YAML")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            // libyaml's context and problem texts are fixed phrases ("while scanning a simple key").
            // The context mark is where the broken construct began, often the line to fix.
            let prefix = context.map { "\($0.text) (from line \($0.mark.line)): " } ?? ""
            return ManifestError(path: "", line: mark.line, message: "invalid YAML: \(prefix)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map(quoted).joined(separator: ", ")
            return ManifestError(path: "", line: context.mark.line, message: "duplicate key \(keys)")
        default:
            return ManifestError(path: "", line: nil, message: "invalid YAML")
        }
    }
}
