import CGMime

/// Turns a text part's content into UTF-8 text, whatever its declared (or undeclared) charset.
///
/// - Declared charsets other than UTF-8 / US-ASCII are converted with iconv through GMime's charset
///   filter, which skips bytes that are invalid in that charset.
/// - Declared UTF-8 with invalid sequences: each bad sequence becomes U+FFFD.
/// - Undeclared, US-ASCII or unknown charsets: valid UTF-8 is taken as is; anything else is decoded by
///   GMime's 8-bit guesser over the fallback charsets (UTF-8, then windows-1252).
/// NUL bytes and trailing line breaks are removed in every case.
struct TextDecoder {
    let options: OpaquePointer

    /// Charset names whose content needs no conversion when it is valid UTF-8.
    private static let passThrough: Set<String> = ["utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "7bit"]

    func decode(_ part: UnsafeMutablePointer<GMimePart>, object: UnsafeMutablePointer<GMimeObject>,
                mime: String, problems: inout [String]) -> String? {
        var converted: Int32 = 0
        let raw = GLibValues.taken(mr_part_decoded_content(part, nil, &converted))
        if raw.contains(0) { problems.append("NUL bytes removed from \(mime) part") }
        let charset = GLibValues.nonEmpty(g_mime_object_get_content_type_parameter(object, "charset"))?.lowercased()
        if let charset, !Self.passThrough.contains(charset) {
            let bytes = GLibValues.taken(mr_part_decoded_content(part, charset, &converted))
            if converted != 0 { return Self.bodyText(String(decoding: bytes.filter { $0 != 0 }, as: UTF8.self)) }
            problems.append("unknown charset \"\(ParserWarnings.excerpt(charset))\" in \(mime) part; guessed")
            return Self.bodyText(guess(bytes))
        }
        let bytes = raw.filter { $0 != 0 }
        if let valid = String(validating: bytes, as: UTF8.self) { return Self.bodyText(valid) }
        if charset == "utf-8" || charset == "utf8" {
            problems.append("invalid UTF-8 in \(mime) part; replaced with U+FFFD")
            return Self.bodyText(String(decoding: bytes, as: UTF8.self))
        }
        problems.append("8-bit text without a matching charset in \(mime) part; charset guessed")
        return Self.bodyText(guess(bytes))
    }

    /// GMime's guess over the fallback charsets; always returns valid UTF-8.
    func guess(_ bytes: [UInt8]) -> String {
        let clean = bytes.filter { $0 != 0 }
        guard !clean.isEmpty else { return "" }
        let decoded = clean.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                GLibValues.taken(g_mime_utils_decode_8bit(options, chars.baseAddress, chars.count))
            }
        }
        return decoded ?? String(decoding: clean, as: UTF8.self)
    }

    /// Trailing line breaks are dropped; empty text counts as no body.
    /// Works on UTF-8 bytes (CR and LF are single bytes there): stepping back over unicode scalars
    /// costs a walk of the whole string per step.
    static func bodyText(_ string: String) -> String? {
        let clean = string.removingNUL()
        let utf8 = clean.utf8
        var end = utf8.endIndex
        while end > utf8.startIndex {
            let before = utf8.index(before: end)
            guard utf8[before] == 10 || utf8[before] == 13 else { break }
            end = before
        }
        if end == utf8.startIndex { return nil }
        return end == utf8.endIndex ? clean : String(clean[..<end])
    }
}
