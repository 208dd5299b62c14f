import Yams

/// Collects the problems found while reading one manifest. Reference type so that every reader of the same
/// document reports into one list; lives for one `ManifestParser` call on one task.
final class Diagnostics {
    private(set) var errors: [ManifestError] = []

    func report(_ path: String, line: Int?, _ message: String) {
        errors.append(ManifestError(path: path, line: line, message: message))
    }

    func report(_ path: String, _ node: Node?, _ message: String) {
        report(path, line: node?.mark?.line, message)
    }

    /// Errors in document order; errors without a line keep their relative order at the end.
    var sorted: [ManifestError] {
        errors.enumerated().sorted { a, b in
            switch (a.element.line, b.element.line) {
            case let (x?, y?): x != y ? x < y : a.offset < b.offset
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a.offset < b.offset
            }
        }.map(\.element)
    }
}

/// Remembers where each name of one kind was first defined, to report duplicates.
struct NameRegistry {
    let kind: String
    private(set) var lines: [String: Int?] = [:]
    private(set) var names: [String] = []

    init(kind: String) { self.kind = kind }

    /// Records `name`; reports and returns false if it was already defined.
    mutating func register(_ name: String, path: String, node: Node?, diagnostics: Diagnostics) -> Bool {
        if let first = lines[name] {
            let location = first.map { ", first defined on line \($0)" } ?? ""
            diagnostics.report(path, node, "duplicate \(kind) \(quoted(name))\(location)")
            return false
        }
        lines[name] = node?.mark?.line
        names.append(name)
        return true
    }

    func contains(_ name: String) -> Bool { lines[name] != nil }
}

/// A name in double quotes, for messages: `unknown team "suport"`.
func quoted(_ text: String) -> String { "\"\(text)\"" }

/// Levenshtein distance, for "did you mean" hints on misspelt keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
