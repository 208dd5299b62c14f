import CGMime
import Foundation

/// Parses RFC 5322 / MIME messages with GMime 3 into `ParsedMessage` values.
///
/// Choices, so that every caller sees the same message the same way:
/// - **Tolerance.** Anything GMime can make a message of is returned; what was malformed is described
///   in `problems` (parser warnings, unparseable Date, bad base64, unknown charsets or transfer
///   encodings, empty multiparts). Input without a header block that reads as text becomes a
///   body-only message. `MIMEError` is thrown only for empty input, for binary input GMime builds no
///   message from, or when the result has neither header fields nor content. A header block without
///   a body (how oversize messages are imported) is a normal message without bodies.
/// - **Text and HTML body.** The first `text/plain` and the first `text/html` leaf met in document
///   order become the bodies, provided they are not `Content-Disposition: attachment` and carry no
///   file name. In `multipart/alternative` the *last* candidate of each kind wins (RFC 2046 §5.1.4:
///   alternatives grow more faithful) and the other renderings of that kind are dropped. In
///   `multipart/related` the root (the `start` part, else the first, RFC 2387) is searched first.
///   Further body-like parts (text after an inline image in `multipart/mixed`) become inline
///   attachments so no text is lost. An HTML-only message has no `textBody`: nothing is derived.
/// - **Attachments.** Every other leaf, in document order: files, inline resources of
///   `multipart/related` (`isInline`), signatures, delivery reports. `message/rfc822` parts are not
///   descended into: each is one attachment holding the embedded message's bytes, named after its
///   subject + `.eml`. File names come from GMime (RFC 2231 continuations and charsets, RFC 2047
///   encoded-words).
/// - **Text.** Converted to UTF-8 as described on `TextDecoder`; NUL characters are removed from
///   every string (PostgreSQL `text` cannot hold them). Bodies lose trailing line breaks (inner line
///   ends stay as sent, usually CRLF); an empty body is nil. Header values are unfolded and decoded.
/// - **Threads.** `parse` is synchronous, CPU-only and safe to call from any thread concurrently:
///   every call owns its GMime objects (`GMimeDocument`) and GMime is initialised once.
public enum MIMEParser {
    /// More notes than this are summarised: a hostile message can make GMime warn per line.
    static let maxProblems = 50

    /// Parses one message. See the type's documentation for what is tolerated.
    public static func parse(_ bytes: [UInt8]) throws(MIMEError) -> ParsedMessage {
        guard !bytes.isEmpty else { throw MIMEError(.emptyInput, "the input holds no bytes") }
        var problems: [String] = []
        let document = GMimeDocument(screenHeaderBlock(bytes, problems: &problems))
        guard let message = document.message else {
            if let text = headerlessText(bytes, options: document.options) { return text }
            throw MIMEError(.noMessage, "no message could be constructed from \(bytes.count) bytes")
        }
        var parsed = ParsedMessage()
        parsed.size = bytes.count
        readHeaders(message, options: document.options, into: &parsed, problems: &problems)

        var collector = BodyCollector(options: document.options)
        if let body = g_mime_message_get_mime_part(message) {
            collector.visit(body)
        }
        parsed.textBody = collector.textBody
        parsed.htmlBody = collector.htmlBody
        parsed.attachments = collector.attachments
        parsed.problems = summarise(document.warnings.notes + problems + collector.problems)

        if parsed.headers.isEmpty && parsed.textBody == nil && parsed.htmlBody == nil && parsed.attachments.isEmpty {
            throw MIMEError(.nothingUsable, "no header fields and no content in \(bytes.count) bytes")
        }
        return parsed
    }

    /// Input GMime rejects because it does not start with a header block, but which reads as
    /// text (no NULs, under 5 % other control bytes): kept as a body-only message.
    private static func headerlessText(_ bytes: [UInt8], options: OpaquePointer) -> ParsedMessage? {
        var controls = 0
        for byte in bytes {
            if byte == 0 { return nil }
            // TAB, LF, CR, FF and ESC (ISO-2022 shifts) occur in real text.
            if byte < 0x20 && ![0x09, 0x0A, 0x0C, 0x0D, 0x1B].contains(byte) || byte == 0x7F { controls += 1 }
        }
        guard controls * 20 < bytes.count else { return nil }
        var problems: [String] = []
        let text = String(validating: bytes, as: UTF8.self) ?? {
            problems.append("8-bit text without a charset; charset guessed")
            return TextDecoder(options: options).guess(bytes)
        }()
        guard let body = TextDecoder.bodyText(text) else { return nil }
        var parsed = ParsedMessage()
        parsed.size = bytes.count
        parsed.textBody = body
        parsed.problems = ["no header block; the whole input was taken as the text body"] + problems
        return parsed
    }

    // MARK: Header fields

    private static func readHeaders(_ message: UnsafeMutablePointer<GMimeMessage>, options: OpaquePointer,
                                    into parsed: inout ParsedMessage, problems: inout [String]) {
        let object = mr_as_object(message)
        if let list = g_mime_object_get_header_list(object) {
            for index in 0..<g_mime_header_list_get_count(list) {
                guard let header = g_mime_header_list_get_header_at(list, index),
                      let name = GLibValues.borrowed(g_mime_header_get_name(header)) else { continue }
                let value = GLibValues.borrowed(g_mime_header_get_value(header)) ?? ""
                let field = HeaderField(name: name.removingNUL(), value: unfold(value))
                // GMime (in its lenient mode) leaves encoded-words it cannot decode as they are.
                if looksLikeEncodedWord(field.value) {
                    problems.append("undecodable RFC 2047 encoded-word in \(field.name)")
                }
                parsed.headers.append(field)
            }
        }

        parsed.messageID = GLibValues.nonEmpty(g_mime_message_get_message_id(message))?.removingNUL()
        if let subject = GLibValues.borrowed(g_mime_message_get_subject(message)) {
            let clean = unfold(subject)
            parsed.subject = clean.isEmpty ? nil : clean
        }
        parsed.from = addresses(g_mime_message_get_from(message))
        parsed.sender = addresses(g_mime_message_get_sender(message))
        parsed.to = addresses(g_mime_message_get_to(message))
        parsed.cc = addresses(g_mime_message_get_cc(message))
        parsed.bcc = addresses(g_mime_message_get_bcc(message))
        parsed.replyTo = addresses(g_mime_message_get_reply_to(message))

        if let date = g_mime_message_get_date(message) {
            let seconds = Double(g_date_time_to_unix(date)) + Double(g_date_time_get_microsecond(date)) / 1_000_000
            parsed.date = Date(timeIntervalSince1970: seconds)
        } else if let raw = parsed.header("Date"), !raw.isEmpty {
            problems.append("unparseable Date header: \(ParserWarnings.excerpt(raw))")
        }

        parsed.inReplyTo = messageIDs(parsed.headers(named: "In-Reply-To"), options: options,
                                      field: "In-Reply-To", problems: &problems)
        parsed.references = messageIDs(parsed.headers(named: "References"), options: options,
                                       field: "References", problems: &problems)
    }

    /// Notes over-long header lines and removes NUL bytes from the header block: GMime reads header
    /// values as C strings, so a NUL would silently cut the value short. The body is left alone
    /// (binary parts may hold NULs; text decoding removes them), except that a missing final line
    /// break is added.
    static func screenHeaderBlock(_ bytes: [UInt8], problems: inout [String]) -> [UInt8] {
        let end = bodyStart(bytes)
        var lineLength = 0, longest = 0, hasNUL = false
        for byte in bytes[..<end] {
            if byte == UInt8(ascii: "\n") { lineLength = 0; continue }
            if byte == 0 { hasNUL = true }
            lineLength += 1
            longest = max(longest, lineLength)
        }
        // RFC 5322 §2.1.1: lines must not exceed 998 characters excluding CRLF.
        if longest > 999 {
            problems.append("header line of \(longest) characters exceeds RFC 5322's limit of 998")
        }
        var screened = bytes
        if hasNUL {
            problems.append("NUL bytes in the header block removed")
            screened = bytes[..<end].filter { $0 != 0 } + bytes[end...]
        }
        // GMime leaves a stray CR at the end of the last part when a CRLF message stops right
        // after its closing boundary: end every input with a line break.
        if let last = screened.last, last != UInt8(ascii: "\n") {
            screened += screened.contains(UInt8(ascii: "\r")) ? [UInt8(ascii: "\r"), UInt8(ascii: "\n")] : [UInt8(ascii: "\n")]
        }
        return screened
    }

    /// Whether a decoded value still holds `=?` followed later by `?`: the shape of an RFC 2047
    /// encoded-word GMime left as it was. Scans UTF-8 bytes (both characters are ASCII): Foundation's
    /// `range(of:)` bridges every header value, which showed up in profiles of the import.
    static func looksLikeEncodedWord(_ value: String) -> Bool {
        var previous: UInt8 = 0
        var opened = false
        for b in value.utf8 {
            if opened, b == UInt8(ascii: "?") { return true }
            if previous == UInt8(ascii: "="), b == UInt8(ascii: "?") { opened = true }
            previous = b
        }
        return false
    }

    /// RFC 5322 §2.2.3: unfolding removes the CRLFs of folded lines; the whitespace stays.
    /// (NUL, CR and LF are single ASCII bytes in UTF-8, so they are dropped byte by byte.)
    static func unfold(_ value: String) -> String {
        let utf8 = value.utf8
        guard utf8.contains(where: { $0 == 0 || $0 == 13 || $0 == 10 }) else { return value.trimmingWhitespace() }
        return String(decoding: utf8.filter { $0 != 0 && $0 != 13 && $0 != 10 }, as: UTF8.self).trimmingWhitespace()
    }

    /// The mailboxes of a list, with groups (RFC 5322 §3.4) flattened into their members.
    private static func addresses(_ list: UnsafeMutablePointer<InternetAddressList>?, depth: Int = 0) -> [MailAddress] {
        guard let list, depth < 8 else { return [] }
        var result: [MailAddress] = []
        for index in 0..<internet_address_list_length(list) {
            guard let address = internet_address_list_get_address(list, index) else { continue }
            if mr_is_address_mailbox(address) != 0 {
                let mailbox = mr_as_address_mailbox(address)
                guard let addr = GLibValues.nonEmpty(internet_address_mailbox_get_addr(mailbox))?.removingNUL() else {
                    continue
                }
                let name = GLibValues.borrowed(internet_address_get_name(address)).map(unfold)
                result.append(MailAddress(name: name, address: addr))
            } else if mr_is_address_group(address) != 0 {
                result += addresses(internet_address_group_get_members(mr_as_address_group(address)), depth: depth + 1)
            }
        }
        return result
    }

    /// Message-IDs (without angle brackets) from In-Reply-To / References values.
    private static func messageIDs(_ values: [String], options: OpaquePointer, field: String,
                                   problems: inout [String]) -> [String] {
        var ids: [String] = []
        for value in values where !value.isEmpty {
            guard let references = g_mime_references_parse(options, value) else {
                problems.append("no message-id in \(field): \(ParserWarnings.excerpt(value))")
                continue
            }
            defer { g_mime_references_free(references) }
            let before = ids.count
            for index in 0..<g_mime_references_length(references) {
                if let id = GLibValues.nonEmpty(g_mime_references_get_message_id(references, index)) {
                    ids.append(id.removingNUL())
                }
            }
            if ids.count == before {
                problems.append("no message-id in \(field): \(ParserWarnings.excerpt(value))")
            }
        }
        return ids
    }

    /// Duplicates removed (order kept) and the list capped at `maxProblems`.
    private static func summarise(_ notes: [String]) -> [String] {
        var seen = Set<String>()
        let unique = notes.filter { seen.insert($0).inserted }
        guard unique.count > maxProblems else { return unique }
        return Array(unique.prefix(maxProblems)) + ["… and \(unique.count - maxProblems) further problems"]
    }
}
