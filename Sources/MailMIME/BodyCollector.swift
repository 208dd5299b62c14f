import CGMime

/// Walks a parsed MIME tree once and sorts every leaf into the text body, the HTML body or the
/// attachments, following the rules documented on `MIMEParser`. Pointers it receives are borrowed
/// from the `GMimeDocument` being parsed.
struct BodyCollector {
    /// Where in the tree a part sits; decides what a second body candidate means.
    struct Context {
        /// Inside multipart/alternative, and the text (HTML) slot was still free when it began:
        /// a second candidate for that slot is a lesser rendering of the same content.
        var alternativeOwnsText = false
        var alternativeOwnsHTML = false
        /// A non-root part of multipart/related: a resource of the body (RFC 2387).
        var isRelatedResource = false
    }

    /// GMime guards its own nesting depth; this bound keeps our recursion finite regardless.
    static let maxDepth = 64

    let options: OpaquePointer
    private(set) var textBody: String?
    private(set) var htmlBody: String?
    private(set) var attachments: [ParsedAttachment] = []
    private(set) var problems: [String] = []

    init(options: OpaquePointer) { self.options = options }

    mutating func visit(_ object: UnsafeMutablePointer<GMimeObject>, context: Context = Context(), depth: Int = 0) {
        guard depth < Self.maxDepth else {
            problems.append("MIME nesting deeper than \(Self.maxDepth) levels; inner parts ignored")
            return
        }
        if mr_is_multipart(object) != 0 {
            visitMultipart(object, context: context, depth: depth)
        } else if mr_is_message_part(object) != 0 {
            collectEmbeddedMessage(object, context: context)
        } else if mr_is_part(object) != 0 {
            visitLeaf(object, context: context)
        } else {
            problems.append("unsupported MIME object of type \(Self.mimeType(object)) skipped")
        }
    }

    // MARK: Multiparts

    private mutating func visitMultipart(_ object: UnsafeMutablePointer<GMimeObject>, context: Context, depth: Int) {
        let multipart = mr_as_multipart(object)
        let count = Int(g_mime_multipart_get_count(multipart))
        guard count > 0 else {
            // Without a usable boundary GMime leaves the whole content in the prologue: keep it
            // as text rather than lose it.
            let prologue = GLibValues.borrowed(g_mime_multipart_get_prologue(multipart))?.removingNUL()
            if let prologue, !prologue.trimmingWhitespace().isEmpty, textBody == nil {
                textBody = prologue
                problems.append("\(Self.mimeType(object)) without any parts; its content kept as text")
            } else {
                problems.append("\(Self.mimeType(object)) without any parts")
            }
            return
        }
        let children = (0..<count).compactMap { g_mime_multipart_get_part(multipart, Int32($0)) }
        let subtype = GLibValues.borrowed(g_mime_content_type_get_media_subtype(g_mime_object_get_content_type(object)))?
            .lowercased()
        switch subtype {
        case "alternative":
            // RFC 2046 §5.1.4: alternatives are in increasing order of faithfulness, so the last
            // one of each kind wins. Visit from the end; keep attachments in document order.
            var inner = Context()
            inner.alternativeOwnsText = textBody == nil
            inner.alternativeOwnsHTML = htmlBody == nil
            var buckets: [[ParsedAttachment]] = Array(repeating: [], count: children.count)
            for index in children.indices.reversed() {
                let start = attachments.count
                visit(children[index], context: inner, depth: depth + 1)
                buckets[index] = Array(attachments[start...])
                attachments.removeSubrange(start...)
            }
            attachments += buckets.joined()
        case "related":
            // RFC 2387 §3.1: the root is the part named by `start`, else the first part.
            let start = GLibValues.nonEmpty(g_mime_object_get_content_type_parameter(object, "start"))
                .map { $0.trimmingAngleBrackets() }
            let rootIndex = start.flatMap { wanted in
                children.firstIndex { GLibValues.borrowed(g_mime_object_get_content_id($0)) == wanted }
            } ?? 0
            visit(children[rootIndex], context: Context(), depth: depth + 1)
            var resource = Context()
            resource.isRelatedResource = true
            for (index, child) in children.enumerated() where index != rootIndex {
                visit(child, context: resource, depth: depth + 1)
            }
        default:
            // mixed, parallel, digest, report, signed, encrypted and unknown subtypes
            // (RFC 2046 §5.1.3: treat unknown multiparts as mixed).
            for child in children { visit(child, context: Context(), depth: depth + 1) }
        }
    }

    // MARK: Leaves

    private mutating func visitLeaf(_ object: UnsafeMutablePointer<GMimeObject>, context: Context) {
        let part = mr_as_part(object)
        let mime = Self.mimeType(object)
        let disposition = GLibValues.nonEmpty(g_mime_object_get_disposition(object))?.lowercased()
        let filename = GLibValues.nonEmpty(g_mime_part_get_filename(part))?.removingNUL()
        let contentID = GLibValues.nonEmpty(g_mime_object_get_content_id(object))?.removingNUL()
        checkTransferEncoding(part, object: object, mime: mime)

        let isBodyLike = (mime == "text/plain" || mime == "text/html") && disposition != "attachment" && filename == nil
        if isBodyLike {
            let isHTML = mime == "text/html"
            let text = TextDecoder(options: options).decode(part, object: object, mime: mime, problems: &problems)
            if isHTML ? htmlBody == nil : textBody == nil {
                if isHTML { htmlBody = text } else { textBody = text }
                return
            }
            if isHTML ? context.alternativeOwnsHTML : context.alternativeOwnsText {
                return  // a lesser alternative of the body already chosen
            }
            // A further body-like part (e.g. text after an inline image in multipart/mixed) is
            // kept as an inline attachment rather than lost.
        }
        var converted: Int32 = 0
        let data = GLibValues.taken(mr_part_decoded_content(part, nil, &converted))
        let isInline = isBodyLike || disposition == "inline"
            || (disposition == nil && (contentID != nil || context.isRelatedResource))
        attachments.append(ParsedAttachment(
            filename: filename, contentType: mime, contentID: contentID, isInline: isInline, data: data))
    }

    /// message/rfc822 (and message/global, message/news): kept whole as an `.eml` attachment.
    private mutating func collectEmbeddedMessage(_ object: UnsafeMutablePointer<GMimeObject>, context: Context) {
        let mime = Self.mimeType(object)
        let disposition = GLibValues.nonEmpty(g_mime_object_get_disposition(object))?.lowercased()
        let embedded = g_mime_message_part_get_message(mr_as_message_part(object))
        guard let embedded else {
            problems.append("\(mime) part without a message")
            return
        }
        let data = GLibValues.taken(mr_object_serialize(mr_as_object(embedded)))
        let named = GLibValues.nonEmpty(g_mime_object_get_content_disposition_parameter(object, "filename"))
            ?? GLibValues.nonEmpty(g_mime_object_get_content_type_parameter(object, "name"))
        let subject = GLibValues.nonEmpty(g_mime_message_get_subject(embedded))
        attachments.append(ParsedAttachment(
            filename: named?.removingNUL() ?? Self.emlFilename(subject: subject),
            contentType: mime,
            contentID: GLibValues.nonEmpty(g_mime_object_get_content_id(object))?.removingNUL(),
            isInline: disposition == "inline",
            data: data))
    }

    // MARK: Checks and helpers

    /// Notes transfer encodings GMime cannot undo and base64 it had to repair silently
    /// (its decoder skips characters outside the alphabet, RFC 2045 §6.8).
    private mutating func checkTransferEncoding(_ part: UnsafeMutablePointer<GMimePart>,
                                                object: UnsafeMutablePointer<GMimeObject>, mime: String) {
        let encoding = g_mime_part_get_content_encoding(part)
        if encoding == GMIME_CONTENT_ENCODING_DEFAULT,
           let declared = GLibValues.nonEmpty(g_mime_object_get_header(object, "Content-Transfer-Encoding")) {
            problems.append("unknown Content-Transfer-Encoding \"\(ParserWarnings.excerpt(declared))\" "
                + "on \(mime) part; content kept as is")
        }
        guard encoding == GMIME_CONTENT_ENCODING_BASE64 else { return }
        var invalid = 0, significant = 0
        mr_part_base64_census(part, &invalid, &significant)
        if invalid > 0 {
            problems.append("\(invalid) invalid characters in base64 content of \(mime) part; skipped")
        }
        if significant % 4 != 0 {
            problems.append("base64 content of \(mime) part is truncated (\(significant % 4) extra characters)")
        }
    }

    /// `type/subtype` of an object, lower-cased.
    static func mimeType(_ object: UnsafeMutablePointer<GMimeObject>) -> String {
        guard let contentType = g_mime_object_get_content_type(object),
              let mime = GLibValues.taken(g_mime_content_type_get_mime_type(contentType)) else {
            return "application/octet-stream"
        }
        return mime.lowercased().removingNUL()
    }

    /// A file name for an embedded message: its subject made safe for file systems, plus `.eml`.
    static func emlFilename(subject: String?) -> String {
        let unsafe: Set<Character> = ["/", "\\", ":", "*", "?", "\"", "<", ">", "|"]
        let cleaned = String((subject ?? "").removingNUL().map { unsafe.contains($0) || $0.isNewline ? "_" : $0 })
            .trimmingWhitespace()
        let stem = cleaned.isEmpty ? "message" : String(cleaned.prefix(100))
        return stem + ".eml"
    }
}

extension String {
    /// `<id@host>` → `id@host`: Content-IDs and `start` parameters are msg-ids (RFC 2392).
    fileprivate func trimmingAngleBrackets() -> String {
        var slice = Substring(self)
        while slice.first == "<" { slice.removeFirst() }
        while slice.last == ">" { slice.removeLast() }
        return String(slice)
    }
}
