import CGMime
import Foundation

/// `g_mime_init()` runs once, on first use, through Swift's thread-safe global initialisation.
/// After it GMime keeps no mutable global state that parsing touches unsafely: every parse has its
/// own options, stream and parser, and GMime's iconv cache is lock-protected.
let gmimeReady: Void = { g_mime_init() }()

/// Owns every GMime object of one parse: the parser options (with a warning callback feeding
/// `problems`), the input stream, the parser and the constructed message; frees them in `deinit`.
/// Confined to the call that created it: not Sendable, never escapes `MIMEParser.parse`.
final class GMimeDocument {
    let options: OpaquePointer
    private let stream: UnsafeMutablePointer<GMimeStream>
    private let parser: UnsafeMutablePointer<GMimeParser>
    /// The message, or nil when GMime could construct none. Borrowed pointers into it stay valid
    /// as long as this document lives.
    let message: UnsafeMutablePointer<GMimeMessage>?
    let warnings = ParserWarnings()

    init(_ bytes: [UInt8]) {
        _ = gmimeReady
        options = g_mime_parser_options_new()
        g_mime_parser_options_set_address_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE)
        g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE)
        g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE)
        g_mime_parser_options_set_allow_addresses_without_domain(options, 1)
        // Undeclared 8-bit header text: try UTF-8 first, then the charset most such mail is in.
        Self.setFallbackCharsets(options, ["UTF-8", "windows-1252"])
        g_mime_parser_options_set_warning_callback(options, { offset, code, item, userData in
            guard let userData else { return }
            let sink = Unmanaged<ParserWarnings>.fromOpaque(userData).takeUnretainedValue()
            sink.add(code: code, item: item.map { String(cString: $0) })
        }, Unmanaged.passUnretained(warnings).toOpaque())

        // g_mime_stream_mem_new_with_buffer copies the bytes, so the array may go away.
        stream = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { g_mime_stream_mem_new_with_buffer($0.baseAddress, $0.count) }
        }
        parser = g_mime_parser_new_with_stream(stream)
        g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE)
        message = g_mime_parser_construct_message(parser, options)
    }

    deinit {
        if let message { g_object_unref(message) }
        g_object_unref(parser)
        g_object_unref(stream)
        g_mime_parser_options_free(options)
    }

    private static func setFallbackCharsets(_ options: OpaquePointer, _ names: [String]) {
        // GMime copies the list; the C strings only need to live for the call.
        var pointers: [UnsafePointer<CChar>?] = names.map { UnsafePointer(strdup($0)!) }
        pointers.append(nil)
        pointers.withUnsafeMutableBufferPointer { g_mime_parser_options_set_fallback_charsets(options, $0.baseAddress) }
        for case let p? in pointers { free(UnsafeMutablePointer(mutating: p)) }
    }
}

/// Collects the parser's warnings as readable notes. Only GMime's callback (on the parsing thread)
/// and the owning document touch it.
final class ParserWarnings {
    private(set) var notes: [String] = []

    func add(code: GMimeParserWarning, item: String?) {
        let what: String
        switch code {
        case GMIME_WARN_DUPLICATED_HEADER: what = "duplicated header"
        case GMIME_WARN_DUPLICATED_PARAMETER: what = "duplicated header parameter"
        case GMIME_WARN_UNENCODED_8BIT_HEADER: what = "header with unencoded 8-bit characters"
        case GMIME_WARN_INVALID_CONTENT_TYPE: what = "invalid Content-Type, treated as application/octet-stream"
        case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: what = "invalid RFC 2047 encoded-word"
        case GMIME_WARN_MALFORMED_MULTIPART: what = "multipart without child parts"
        case GMIME_WARN_TRUNCATED_MESSAGE: what = "message is truncated"
        case GMIME_WARN_MALFORMED_MESSAGE: what = "malformed message"
        case GMIME_CRIT_INVALID_HEADER_NAME: what = "invalid header name"
        case GMIME_CRIT_CONFLICTING_HEADER: what = "conflicting header"
        case GMIME_CRIT_CONFLICTING_PARAMETER: what = "conflicting header parameter"
        case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: what = "multipart without boundary parameter"
        case GMIME_WARN_INVALID_PARAMETER: what = "invalid header parameter"
        case GMIME_WARN_INVALID_ADDRESS_LIST: what = "invalid address list"
        case GMIME_CRIT_NESTING_OVERFLOW: what = "MIME nesting too deep, inner parts ignored"
        case GMIME_WARN_PART_WITHOUT_CONTENT: what = "part headers ended by a boundary (no content)"
        case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: what = "part without headers or content"
        default: what = "parser warning \(code.rawValue)"
        }
        if let item, !item.isEmpty {
            notes.append("\(what): \(ParserWarnings.excerpt(item))")
        } else {
            notes.append(what)
        }
    }

    /// At most 80 characters of `text`, on one line, without NULs.
    static func excerpt(_ text: String) -> String {
        let line = String(text.removingNUL().map { $0.isNewline ? " " : $0 })
        return line.count > 80 ? String(line.prefix(80)) + "…" : line
    }
}
