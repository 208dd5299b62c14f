/// The one error of the MIME layer: thrown only when the input holds nothing usable as a message.
/// Anything malformed but tolerable is reported in `ParsedMessage.problems` instead.
public struct MIMEError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input has no bytes at all.
        public static let emptyInput = Code("emptyInput")
        /// GMime constructed no message from the input.
        public static let noMessage = Code("noMessage")
        /// A message was constructed but it has neither header fields nor any content.
        public static let nothingUsable = Code("nothingUsable")
    }

    public var code: Code
    /// A human-readable explanation. It never quotes message content.
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "MIMEError(\(code)): \(reason)" }
}
