/// Why the sanitiser fell back to plain text. It never throws: every input yields well-formed,
/// escaped HTML, and this says which path produced it (for logs and metrics; safe to log, it
/// carries sizes, never content).
public struct HTMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The HTML is larger than `HTMLSanitizer.Limits.maxInputBytes`: not parsed at all.
        case inputTooLarge
        /// A start tag may hold more than `Limits.maxAttributesPerTag` attributes (`StartTagScan`).
        case tooManyAttributes
        /// The document has more nodes than `Limits.maxNodes`.
        case tooManyNodes
        /// Elements nest deeper than `Limits.maxDepth`.
        case tooDeep
        /// The sanitised output would exceed `Limits.maxOutputBytes`.
        case outputTooLarge
        /// libxml2 returned no document.
        case parserFailed
    }

    public var code: Code
    /// The measured size, node count or depth that crossed the limit, when there is one.
    public var measured: Int?

    public init(code: Code, measured: Int? = nil) {
        self.code = code
        self.measured = measured
    }

    public var description: String {
        measured.map { "html sanitiser fell back to text: \(code.rawValue) (\($0))" }
            ?? "html sanitiser fell back to text: \(code.rawValue)"
    }
}
