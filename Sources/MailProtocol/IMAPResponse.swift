/// One value of an IMAP response (RFC 3501 §4): what the tokenizer makes of the bytes between
/// the tag and the line end.
public indirect enum IMAPValue: Sendable, Equatable {
    /// An atom or number, including flags (`\Seen`) and `NIL`.
    case atom(String)
    /// A quoted string or a literal (`{n}\r\n` + n octets), unescaped.
    case string([UInt8])
    /// A parenthesised list.
    case list([IMAPValue])
    /// The bracketed section after `BODY`/`BINARY` in a FETCH response (`BODY[HEADER]`).
    case section([IMAPValue])

    /// The atom's text, or `nil`.
    public var atom: String? {
        if case .atom(let text) = self { return text }
        return nil
    }

    /// A number in an atom (RFC 3501 `number`, `nz-number`, `mod-sequence-value`).
    public var number: UInt64? { atom.flatMap { UInt64($0) } }

    /// An `astring` / `nstring` as text: atoms and strings; `nil` for `NIL` and lists.
    public var text: String? {
        switch self {
        case .atom(let text): return text.uppercased() == "NIL" ? nil : text
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    public var list: [IMAPValue]? {
        if case .list(let values) = self { return values }
        return nil
    }
}

/// One complete server response: a line, continued across literals (RFC 3501 §2.2.2, §7).
public struct IMAPResponse: Sendable, Equatable {
    public enum Tag: Sendable, Equatable {
        /// `*`: untagged data or status.
        case untagged
        /// `+`: a command continuation request.
        case continuation
        /// The tag of the command this completes.
        case tagged(String)
    }

    /// `OK`, `NO`, `BAD`, `BYE`, `PREAUTH` (RFC 3501 §7.1).
    public enum Condition: String, Sendable, Equatable {
        case ok = "OK", no = "NO", bad = "BAD", bye = "BYE", preauth = "PREAUTH"
    }

    public var tag: Tag
    /// Set for status responses, `nil` for data responses such as `* 3 EXISTS`.
    public var condition: Condition?
    /// The bracketed response code of a status response, e.g. `[.atom("UIDNEXT"), .atom("5")]`.
    public var code: [IMAPValue]?
    /// The human-readable text of a status or continuation response.
    public var text: String
    /// The values of a data response, e.g. `[.atom("3"), .atom("EXISTS")]`.
    public var values: [IMAPValue]

    public init(tag: Tag, condition: Condition? = nil, code: [IMAPValue]? = nil, text: String = "",
                values: [IMAPValue] = []) {
        self.tag = tag
        self.condition = condition
        self.code = code
        self.text = text
        self.values = values
    }

    /// The first atom of the response code, upper-cased (`UIDVALIDITY`), if any.
    public var codeName: String? { code?.first?.atom?.uppercased() }

    /// The name of a data response: `EXISTS` in `* 3 EXISTS`, `FETCH` in `* 3 FETCH (…)`,
    /// `SEARCH` in `* SEARCH 1 2`: the first atom that is not a number.
    public var dataName: String? {
        guard condition == nil, tag == .untagged else { return nil }
        for value in values.prefix(2) {
            if let atom = value.atom, UInt64(atom) == nil { return atom.uppercased() }
        }
        return nil
    }

    /// Splits the byte stream a server sent into responses and parses each one.
    ///
    /// The stream must consist of whole lines; a line ending in a literal announcement (`{n}` or
    /// `{n+}` before CRLF) continues after the n literal octets. A stream that ends inside a line
    /// or a literal throws `.incomplete`.
    public static func parseStream(_ stream: [UInt8]) throws -> [IMAPResponse] {
        try IMAPTokenizer.splitResponses(stream).map { range in
            var tokenizer = IMAPTokenizer(stream, range: range)
            return try tokenizer.parseResponse()
        }
    }

    /// The complete responses at the start of a stream that may have been cut off (a connection
    /// that broke mid-response); the incomplete tail is ignored. Throws `.malformed` only.
    public static func parseCompleteResponses(_ stream: [UInt8]) throws -> [IMAPResponse] {
        try IMAPTokenizer.splitResponses(stream, allowingCutTail: true).map { range in
            var tokenizer = IMAPTokenizer(stream, range: range)
            return try tokenizer.parseResponse()
        }
    }
}
