import Foundation

/// A message reduced to plain values: no GMime object survives parsing.
public struct ParsedMessage: Sendable {
    /// The Message-ID without angle brackets; nil when absent or empty.
    public var messageID: String?
    /// The subject, RFC 2047-decoded from any charset to UTF-8.
    public var subject: String?
    public var from: [MailAddress] = []
    /// RFC 5322 allows one Sender; a list keeps the shape uniform with the other address fields.
    public var sender: [MailAddress] = []
    public var to: [MailAddress] = []
    public var cc: [MailAddress] = []
    public var bcc: [MailAddress] = []
    public var replyTo: [MailAddress] = []
    /// The Date header; nil when absent or unparseable (the latter is also noted in `problems`).
    public var date: Date?
    /// Message-IDs from In-Reply-To, without angle brackets.
    public var inReplyTo: [String] = []
    /// Message-IDs from References (all such fields, in order), without angle brackets.
    public var references: [String] = []
    /// Every top-level header field, in order.
    public var headers: [HeaderField] = []
    /// The chosen text/plain body as UTF-8 without NUL characters (see `MIMEParser` for the choice).
    public var textBody: String?
    /// The chosen text/html body as UTF-8 without NUL characters.
    public var htmlBody: String?
    /// Every leaf that is not a chosen body, in document order.
    public var attachments: [ParsedAttachment] = []
    /// Human-readable notes about malformed input that parsing tolerated; empty for clean mail.
    public var problems: [String] = []
    /// The byte count of the parsed input.
    public var size: Int = 0

    public init() {}

    /// The value of the first header field called `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    /// The values of every header field called `name` (case-insensitive), in order.
    public func headers(named name: String) -> [String] {
        headers.filter { Self.sameName($0.name, name) }.map(\.value)
    }

    /// Case-insensitive equality of header names: ASCII names (all real ones) byte by byte, others
    /// with Foundation's comparison (which bridges the strings, too slow for every header).
    static func sameName(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.utf8, b.utf8)
        guard x.allSatisfy({ $0 < 0x80 }), y.allSatisfy({ $0 < 0x80 }) else {
            return a.caseInsensitiveCompare(b) == .orderedSame
        }
        func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
        return x.count == y.count && zip(x, y).allSatisfy { lower($0) == lower($1) }
    }

    /// See `MIMEParser.contentDigest(_:raw:)`.
    public func contentDigest(raw: [UInt8]) -> String {
        MIMEParser.contentDigest(self, raw: raw)
    }
}
