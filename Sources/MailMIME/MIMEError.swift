/// The one error of the MIME layer: thrown when the input holds nothing usable as a message, or when
/// an outgoing message cannot be composed. Anything malformed but tolerable in parsed mail is
/// reported in `ParsedMessage.problems` instead.
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
        /// A value cannot become a header field (a line break, a malformed message id).
        public static let invalidHeader = Code("invalidHeader")
        /// GMime could not build the message.
        public static let composeFailed = Code("composeFailed")
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
