/// A literal-aware tokenizer of server responses (RFC 3501 §4, §9).
///
/// Works on the exact octets the server sent. A literal (`{n}` CRLF followed by n octets) may
/// contain anything, including CRLF, `* ` or a tag at a line start, so responses are first split
/// by counting literal octets, then tokenized one by one.
struct IMAPTokenizer {
    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    private static let space = UInt8(ascii: " ")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// Atoms after which `[` opens a section rather than continuing the atom (RFC 3501 §7.4.2
    /// `BODY[section]`, RFC 3516 `BINARY[…]`). Elsewhere `[` is an ordinary atom character.
    private static let sectionAtoms: Set<String> = [
        "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
    ]

    init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    /// The byte ranges of the responses in `stream`, each ending after its final LF. With
    /// `allowingCutTail`, a final incomplete response is left out instead of throwing.
    static func splitResponses(_ stream: [UInt8], allowingCutTail: Bool = false) throws -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var index = 0
        while index < stream.count {
            guard let lineFeed = stream[index...].firstIndex(of: lf) else {
                if allowingCutTail { break }
                throw IMAPProtocolError(.incomplete, "stream ends inside a line")
            }
            if let length = literalLength(endingAt: lineFeed, in: stream) {
                let next = lineFeed + 1 + length
                guard next <= stream.count else {
                    if allowingCutTail { break }
                    throw IMAPProtocolError(.incomplete, "stream ends inside a \(length)-octet literal")
                }
                index = next
                continue
            }
            ranges.append(start..<(lineFeed + 1))
            index = lineFeed + 1
            start = index
        }
        return ranges
    }

    /// The length announced by `{n}` or `{n+}` right before the CRLF that ends at `lineFeed`.
    private static func literalLength(endingAt lineFeed: Int, in stream: [UInt8]) -> Int? {
        var i = lineFeed - 1
        if i >= 0 && stream[i] == cr { i -= 1 }
        guard i >= 0, stream[i] == UInt8(ascii: "}") else { return nil }
        i -= 1
        if i >= 0 && stream[i] == UInt8(ascii: "+") { i -= 1 }
        let digitsEnd = i + 1
        while i >= 0 && isDigit(stream[i]) { i -= 1 }
        guard i >= 0, stream[i] == UInt8(ascii: "{"), (1...10).contains(digitsEnd - (i + 1)) else { return nil }
        return Int(String(decoding: stream[(i + 1)..<digitsEnd], as: UTF8.self))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    // MARK: - One response

    mutating func parseResponse() throws -> IMAPResponse {
        let tagText = readWord()
        guard !tagText.isEmpty else { throw IMAPProtocolError(.malformed, "response without a tag") }
        skipSpaces()
        switch tagText {
        case "+":
            return IMAPResponse(tag: .continuation, text: restOfLine())
        case "*":
            let save = position
            let word = readWord()
            if let condition = IMAPResponse.Condition(rawValue: word.uppercased()) {
                return try parseStatus(tag: .untagged, condition: condition)
            }
            position = save
            let values = try parseValues(until: nil)
            return IMAPResponse(tag: .untagged, values: values)
        default:
            let word = readWord()
            guard let condition = IMAPResponse.Condition(rawValue: word.uppercased()) else {
                throw IMAPProtocolError(.malformed, "tagged response '\(tagText) \(word)' has no condition")
            }
            return try parseStatus(tag: .tagged(tagText), condition: condition)
        }
    }

    /// `resp-cond-*`: condition already read; an optional `[code]` and free text follow.
    private mutating func parseStatus(tag: IMAPResponse.Tag, condition: IMAPResponse.Condition) throws
        -> IMAPResponse
    {
        skipSpaces()
        var code: [IMAPValue]?
        if peek() == UInt8(ascii: "[") {
            position += 1
            code = try parseValues(until: UInt8(ascii: "]"))
            position += 1  // the closing bracket
        }
        skipSpaces()
        return IMAPResponse(tag: tag, condition: condition, code: code, text: restOfLine())
    }

    // MARK: - Values

    /// Values up to `terminator` (left unconsumed) or, when `terminator` is nil, the line end.
    private mutating func parseValues(until terminator: UInt8?) throws -> [IMAPValue] {
        var values: [IMAPValue] = []
        while true {
            skipSpaces()
            guard let byte = peek(), byte != Self.cr, byte != Self.lf else {
                if let terminator {
                    throw IMAPProtocolError(.malformed, "missing '\(Character(Unicode.Scalar(terminator)))'")
                }
                return values
            }
            if byte == terminator { return values }
            switch byte {
            case UInt8(ascii: "("):
                position += 1
                values.append(.list(try parseValues(until: UInt8(ascii: ")"))))
                position += 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"):
                throw IMAPProtocolError(.malformed, "unbalanced '\(Character(Unicode.Scalar(byte)))'")
            case UInt8(ascii: "\""):
                values.append(.string(try readQuoted()))
            case UInt8(ascii: "{"):
                values.append(.string(try readLiteral()))
            default:
                let atom = readAtom()
                // A control character (NUL, TAB, DEL …) starts no value: without this the loop would
                // append empty atoms forever without moving (found by `make fuzz`, imap).
                guard !atom.isEmpty else {
                    throw IMAPProtocolError(.malformed, "unexpected byte 0x\(String(byte, radix: 16)) in a response")
                }
                values.append(.atom(atom))
                if peek() == UInt8(ascii: "["), Self.sectionAtoms.contains(atom.uppercased()) {
                    position += 1
                    values.append(.section(try parseValues(until: UInt8(ascii: "]"))))
                    position += 1
                    // A partial fetch answers `BODY[]<origin>` (RFC 3501 §7.4.2).
                    if peek() == UInt8(ascii: "<") { values.append(.atom(readAtom())) }
                }
            }
        }
    }

    private mutating func readQuoted() throws -> [UInt8] {
        position += 1  // opening quote
        var out: [UInt8] = []
        while let byte = peek(), byte != Self.cr, byte != Self.lf {
            position += 1
            if byte == UInt8(ascii: "\"") { return out }
            if byte == UInt8(ascii: "\\"), let escaped = peek() {
                position += 1
                out.append(escaped)
            } else {
                out.append(byte)
            }
        }
        throw IMAPProtocolError(.malformed, "unterminated quoted string")
    }

    private mutating func readLiteral() throws -> [UInt8] {
        position += 1  // "{"
        var digits = ""
        while let byte = peek(), Self.isDigit(byte) {
            digits.append(Character(Unicode.Scalar(byte)))
            position += 1
        }
        if peek() == UInt8(ascii: "+") { position += 1 }
        guard let length = Int(digits), peek() == UInt8(ascii: "}") else {
            throw IMAPProtocolError(.malformed, "bad literal announcement")
        }
        position += 1
        if peek() == Self.cr { position += 1 }
        guard peek() == Self.lf else { throw IMAPProtocolError(.malformed, "literal announcement not at line end") }
        position += 1
        guard position + length <= end else { throw IMAPProtocolError(.incomplete, "literal cut short") }
        defer { position += length }
        return Array(bytes[position..<(position + length)])
    }

    /// Atom characters: anything but SP, CTL, `(`, `)`, `{`, `"`, `]` (RFC 3501 `atom-specials`,
    /// minus `%`, `*` and `\`, which flags such as `\*` use). `[` stays inside the atom here;
    /// `parseValues` splits it off after `BODY`.
    private mutating func readAtom() -> String {
        let start = position
        while let byte = peek(), byte > Self.space, byte != 0x7F {
            if byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: "{")
                || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "]")
            {
                break
            }
            if byte == UInt8(ascii: "["),
                Self.sectionAtoms.contains(String(decoding: bytes[start..<position], as: UTF8.self).uppercased())
            {
                break
            }
            position += 1
            if byte == UInt8(ascii: ">") && bytes[start] == UInt8(ascii: "<") { break }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    // MARK: - Low level

    private func peek() -> UInt8? { position < end ? bytes[position] : nil }

    private mutating func skipSpaces() {
        while peek() == Self.space { position += 1 }
    }

    /// Reads up to the next space or line end.
    private mutating func readWord() -> String {
        let start = position
        while let byte = peek(), byte != Self.space, byte != Self.cr, byte != Self.lf { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func restOfLine() -> String {
        let start = position
        while let byte = peek(), byte != Self.cr, byte != Self.lf { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }
}
