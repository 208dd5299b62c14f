/// The one error type of `MailProtocol`: a server response that could not be understood, or a
/// command the server refused.
///
/// `description` carries only the code and the parser's own words (plus the server's short
/// completion text for refused commands), never the bytes of a message.
public struct IMAPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The bytes do not follow the IMAP grammar (RFC 3501 §9).
        public static let malformed = Code("malformed")
        /// The stream ended before the tagged completion (or inside a literal).
        public static let incomplete = Code("incomplete")
        /// The command completed with a tagged `NO` or `BAD` (RFC 3501 §7.1).
        public static let commandFailed = Code("commandFailed")
        /// The response is well formed but lacks data the caller needs (e.g. no UIDVALIDITY).
        public static let missingData = Code("missingData")
        /// A response (other than a streamed message body) passed the size the reader accepts.
        public static let tooLarge = Code("tooLarge")
        public var description: String { name }
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "IMAP protocol error (\(code)): \(detail)" }
}
