import CGMime
import Foundation

/// Composes outgoing mail with GMime 3 into RFC 5322 bytes with CRLF line ends, ready for SMTP
/// (libcurl does dot-stuffing only on CRLF input) and IMAP APPEND.
///
/// Layout: a text part and an HTML part become `multipart/alternative` (text first, RFC 2046
/// §5.1.4: the richer rendering last); attachments wrap that in `multipart/mixed`. Text parts are
/// UTF-8, quoted-printable or base64 as GMime finds best for 7-bit transport; attachments are
/// base64. Non-ASCII subjects and display names are RFC 2047 encoded by GMime on output.
///
/// Header values are refused when they contain CR or LF (header injection), whatever checks ran
/// before: the composer is the last place a value becomes a header.
///
/// Memory: with large attachments the composer holds at most about two copies of the message at a
/// time. It drops its value's attachments once GMime has its own copy (pass the message with
/// `consume` and keep no other reference to them to let that free them), writes into one buffer
/// sized up front (no growth copies), and releases GMime's tree before copying the result out.
public enum MessageComposer {
    public static func compose(_ m: consuming OutgoingMessage) throws(MIMEError) -> [UInt8] {
        _ = gmimeReady
        try checkHeaderValues(m)
        guard let message = g_mime_message_new(1) else { throw MIMEError(.composeFailed, "GMime created no message") }
        let object = mr_as_object(message)

        g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, m.from.name, m.from.address)
        for a in m.to { g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, a.name, a.address) }
        for a in m.cc { g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_CC, a.name, a.address) }
        for a in m.replyTo { g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_REPLY_TO, a.name, a.address) }
        if let subject = m.subject { g_mime_message_set_subject(message, subject, "utf-8") }
        let date = g_date_time_new_from_unix_utc(gint64(m.date.timeIntervalSince1970))
        g_mime_message_set_date(message, date)
        g_date_time_unref(date)
        g_mime_message_set_message_id(message, m.messageID)
        if let parent = m.inReplyTo { g_mime_object_set_header(object, "In-Reply-To", "<\(parent)>", nil) }
        if !m.references.isEmpty {
            // One id per folded line keeps long chains within the line length limit (RFC 5322 §2.1.1).
            g_mime_object_set_header(object, "References", m.references.map { "<\($0)>" }.joined(separator: "\r\n "), nil)
        }
        if let auto = m.autoSubmitted { g_mime_object_set_header(object, "Auto-Submitted", auto, nil) }
        if m.suppressAutoResponses { g_mime_object_set_header(object, "X-Auto-Response-Suppress", "All", nil) }
        for h in m.extraHeaders { g_mime_object_append_header(object, h.name, h.value, "utf-8") }

        let body = makeBody(m)
        g_mime_message_set_mime_part(message, body)
        g_object_unref(body)
        let estimate = estimatedSize(m)
        m.attachments = []
        let serialized = serialize(object, capacity: estimate)
        g_object_unref(message)
        return GLibValues.taken(serialized)
    }

    /// `object` written with CRLF line ends into one byte array of `capacity` bytes reserved up front
    /// (it grows only if the estimate was short). The caller frees the array.
    private static func serialize(_ object: UnsafeMutablePointer<GMimeObject>, capacity: Int) -> UnsafeMutablePointer<GByteArray> {
        let options = g_mime_format_options_new()
        defer { g_mime_format_options_free(options) }
        g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS)
        let array = g_byte_array_sized_new(guint(clamping: capacity))!
        let stream = g_mime_stream_mem_new_with_byte_array(array)!
        g_mime_object_write_to_stream(object, options, stream)
        return mr_mem_stream_take_array(stream)
    }

    /// An upper estimate of the composed size: base64 with CRLF every 76 characters for attachments,
    /// twice the UTF-8 size for text (quoted-printable's worst), and room for headers.
    private static func estimatedSize(_ m: OutgoingMessage) -> Int {
        let attachments = m.attachments.reduce(0) { $0 + ($1.data.count + 2) / 3 * 4 * 78 / 76 + 1024 }
        let text = 2 * ((m.textBody?.utf8.count ?? 0) + (m.htmlBody?.utf8.count ?? 0))
        return attachments + text + 16 * 1024
    }

    /// The body tree; the caller owns the returned reference.
    private static func makeBody(_ m: OutgoingMessage) -> UnsafeMutablePointer<GMimeObject> {
        var alternatives: [UnsafeMutablePointer<GMimeObject>] = []
        if let text = m.textBody { alternatives.append(textPart("plain", text)) }
        if let html = m.htmlBody { alternatives.append(textPart("html", html)) }
        if alternatives.isEmpty { alternatives.append(textPart("plain", "")) }
        let content = alternatives.count == 1 ? alternatives[0] : container("alternative", alternatives)
        guard !m.attachments.isEmpty else { return content }
        return container("mixed", [content] + m.attachments.map(attachmentPart))
    }

    /// A multipart holding `children`; takes over the callers' references to them.
    private static func container(_ subtype: String, _ children: [UnsafeMutablePointer<GMimeObject>]) -> UnsafeMutablePointer<GMimeObject> {
        let multipart = g_mime_multipart_new_with_subtype(subtype)!
        for child in children {
            g_mime_multipart_add(multipart, child)  // the multipart takes its own reference
            g_object_unref(child)
        }
        return mr_as_object(multipart)
    }

    private static func textPart(_ subtype: String, _ text: String) -> UnsafeMutablePointer<GMimeObject> {
        let part = g_mime_text_part_new_with_subtype(subtype)!
        g_mime_text_part_set_text(part, normalizedLineEnds(text))
        let asPart = mr_as_part(mr_as_object(part))
        g_mime_part_set_content_encoding(asPart, g_mime_part_get_best_content_encoding(asPart, GMIME_ENCODING_CONSTRAINT_7BIT))
        return mr_as_object(part)
    }

    private static func attachmentPart(_ a: OutgoingMessage.Attachment) -> UnsafeMutablePointer<GMimeObject> {
        let pieces = a.contentType.split(separator: "/", maxSplits: 1).map(String.init)
        let part = g_mime_part_new_with_type(pieces.first ?? "application", pieces.count > 1 ? pieces[1] : "octet-stream")!
        let wrapper = a.data.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { mr_data_wrapper_new_bytes($0.baseAddress, $0.count) }
        }
        g_mime_part_set_content(part, wrapper)
        g_object_unref(wrapper)
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64)
        g_mime_object_set_disposition(mr_as_object(part), "attachment")
        if let name = a.filename { g_mime_part_set_filename(part, name) }
        return mr_as_object(part)
    }

    /// Bodies as LF text; GMime writes CRLF on output (DOS newline format). Works on the UTF-8 bytes:
    /// Foundation's `replacingOccurrences` bridged every body through UTF-16 and was the composer's
    /// largest cost in a profile of the worker.
    static func normalizedLineEnds(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(UInt8(ascii: "\r")) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var afterCR = false
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "\n") where afterCR: break  // the LF of a CRLF, already written
            default: out.append(byte)
            }
            afterCR = byte == UInt8(ascii: "\r")
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func checkHeaderValues(_ m: OutgoingMessage) throws(MIMEError) {
        var values: [(String, String)] = [("From", m.from.address), ("Subject", m.subject ?? ""), ("Message-ID", m.messageID),
                                          ("In-Reply-To", m.inReplyTo ?? "")]
        values += [m.from.name ?? ""].map { ("From name", $0) }
        for a in m.to + m.cc + m.replyTo { values += [("address", a.address), ("display name", a.name ?? "")] }
        values += m.references.map { ("References", $0) }
        values += m.extraHeaders.flatMap { [("header name", $0.name), ($0.name, $0.value)] }
        for a in m.attachments { values += [("attachment file name", a.filename ?? ""), ("content type", a.contentType)] }
        for (field, value) in values where value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) {
            throw MIMEError(.invalidHeader, "\(field) contains a line break")
        }
        for id in [m.messageID] + m.references + (m.inReplyTo.map { [$0] } ?? []) where id.contains(where: { $0 == "<" || $0 == ">" || $0 == " " }) {
            throw MIMEError(.invalidHeader, "message id contains angle brackets or spaces")
        }
    }
}
