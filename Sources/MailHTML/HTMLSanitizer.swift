import MailDomain

/// Turns an email's HTML into HTML the CRM can put into its own page.
///
/// Built on libxml2's HTML parser (`htmlReadMemory`, through `HTMLDocument`) rather than on a
/// hand-written tokenizer: libxml2 is packaged in Debian 12 (`libxml2`, already on every machine
/// that runs Mailroom's dependencies), maintained and fuzzed continuously (OSS-Fuzz), and its
/// HTML parser recovers from broken markup the way decades of mail have needed. The sanitiser
/// never writes the input back: it walks the parsed tree and serialises only what
/// `HTMLAllowList` names, so anything libxml2 understood differently from a browser can at worst
/// rearrange allowed elements — every text is escaped, every attribute quoted and escaped, and
/// the elements browsers parse as raw text or foreign content (`script`, `style`, `noscript`,
/// `template`, `xmp`, `svg`, `math`…) are removed with their content.
///
/// Contract:
/// - the output is always well-formed HTML: every element it opens it closes, text and attribute
///   values are escaped (`&`, `<`, `>`, and `"` in attributes);
/// - no script can run from it: no `script`, no event handler (`on…` is never on the allow-list),
///   no URL but http(s)/mailto/tel links and http(s)/`cid:`/`data:image/(png|gif|jpeg|webp)`
///   images, checked after character references are decoded and controls stripped (`URLPolicy`),
///   inline CSS filtered declaration by declaration (`CSSPolicy`);
/// - links open outside the CRM: `rel="noopener noreferrer nofollow" target="_blank"`;
/// - with `RemoteImagePolicy.block`, an http(s) `img src` is written as `data-blocked-src` (the
///   same for `background`), and CSS loading a remote image is dropped;
/// - bounded: past `Limits` (input size, attributes of a tag, node count, nesting depth, output
///   size), or when libxml2 returns no document, the result is the plain-text fallback — the
///   email's text body, or text extracted from the HTML, escaped inside `<pre>` — and `fallback`
///   says why.
///
/// Time and memory are linear in the input, which `maxInputBytes` bounds. Values, no I/O: safe to
/// call from any thread.
public struct HTMLSanitizer: Sendable {
    public struct Limits: Sendable, Equatable {
        /// HTML larger than this is not parsed (2 MiB: far above real newsletters, whose HTML is
        /// rarely over 200 KiB).
        public var maxInputBytes: Int
        /// Elements, texts, comments and attributes the walk may visit.
        public var maxNodes: Int
        /// Nesting depth. Below libxml2's own limit of 256, which silently truncates a document
        /// instead of failing; a depth past this limit falls back to text instead.
        public var maxDepth: Int
        /// Escaping and the attributes added to links make the output larger than the input.
        public var maxOutputBytes: Int
        /// Attributes of one start tag, checked before parsing (`StartTagScan`): libxml2's start
        /// tag parsing is quadratic in them. Real tags have a handful.
        public var maxAttributesPerTag: Int

        public init(maxInputBytes: Int = 2 << 20, maxNodes: Int = 100_000, maxDepth: Int = 200, maxOutputBytes: Int = 8 << 20,
                    maxAttributesPerTag: Int = 128) {
            self.maxInputBytes = maxInputBytes
            self.maxNodes = maxNodes
            self.maxDepth = maxDepth
            self.maxOutputBytes = maxOutputBytes
            self.maxAttributesPerTag = maxAttributesPerTag
        }

        public static let standard = Limits()
    }

    public var remoteImages: RemoteImagePolicy
    public var limits: Limits

    public init(remoteImages: RemoteImagePolicy, limits: Limits = .standard) {
        self.remoteImages = remoteImages
        self.limits = limits
    }

    /// The sanitised copy of `html`. `textBody` is the email's text/plain body, used for the
    /// fallback when there is one.
    public func sanitize(html: String, textBody: String? = nil) -> SanitizedHTML {
        var html = html
        let size = html.utf8.count
        guard size <= limits.maxInputBytes else {
            return fallback(HTMLError(code: .inputTooLarge, measured: size), html: html, textBody: textBody)
        }
        let written: Result<[UInt8], HTMLError>? = html.withUTF8 { bytes in
            if bytes.allSatisfy({ $0 <= 0x20 }) { return nil }
            // libxml2 reads NUL as the end of the input in places: none goes in.
            if bytes.contains(0) {
                return bytes.filter { $0 != 0 }.withUnsafeBufferPointer { write($0) }
            }
            return write(bytes)
        }
        guard let written else { return SanitizedHTML(html: "", fallback: nil) }
        switch written {
        case .success(let bytes): return SanitizedHTML(html: String(decoding: bytes, as: UTF8.self), fallback: nil)
        case .failure(let error): return fallback(error, html: html, textBody: textBody)
        }
    }

    /// Scans, parses and writes; the bytes hold no NUL.
    private func write(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[UInt8], HTMLError> {
        let units = StartTagScan.maxUnits(bytes)
        if units > limits.maxAttributesPerTag * StartTagScan.unitsPerAttribute {
            return .failure(HTMLError(code: .tooManyAttributes, measured: units / StartTagScan.unitsPerAttribute))
        }
        guard let document = HTMLDocument(utf8: bytes) else { return .failure(HTMLError(code: .parserFailed)) }
        var writer = HTMLTreeWriter(remoteImages: remoteImages, limits: limits, expectedSize: bytes.count)
        do throws(HTMLError) {
            try writer.write(document)
            return .success(writer.output)
        } catch {
            return .failure(error)
        }
    }

    /// `<pre>` holding the escaped text body, or the text of the HTML's first `maxInputBytes`; the
    /// text is cut at `maxInputBytes` too.
    private func fallback(_ error: HTMLError, html: String, textBody: String?) -> SanitizedHTML {
        let limit = limits.maxInputBytes
        var out: [UInt8] = Array("<pre>".utf8)
        if let textBody {
            out.reserveCapacity(min(textBody.utf8.count, limit) + 16)
            for b in textBody.utf8.prefix(limit) { Self.appendEscaped(b, to: &out) }
        } else {
            out.reserveCapacity(min(html.utf8.count, limit) + 16)
            Self.appendVisibleText(of: html.utf8.prefix(limit), to: &out)
        }
        out.append(contentsOf: "</pre>".utf8)
        return SanitizedHTML(html: String(decoding: out, as: UTF8.self), fallback: error)
    }

    /// The HTML with its tags (and comments, up to their first `>`) removed, escaped: one linear
    /// pass over bytes, for input the parser was not trusted with. A character reference
    /// (`&lt;`, `&#233;`) is kept as written, so it shows as its character; any other `&` is escaped.
    static func appendVisibleText(of html: some Sequence<UInt8>, to out: inout [UInt8]) {
        let bytes = Array(html)
        var inTag = false
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if inTag {
                if b == UInt8(ascii: ">") { inTag = false }
            } else if b == UInt8(ascii: "<") {
                inTag = true
            } else if b == UInt8(ascii: "&") {
                var j = i
                while j < bytes.count, j - i < 32, isReferenceByte(bytes[j]) { j += 1 }
                if j > i, j < bytes.count, bytes[j] == UInt8(ascii: ";") {
                    out.append(contentsOf: bytes[(i - 1)...j])
                    i = j + 1
                } else {
                    appendEscaped(b, to: &out)
                }
            } else {
                appendEscaped(b, to: &out)
            }
        }
    }

    private static func isReferenceByte(_ b: UInt8) -> Bool {
        let lower = b | 0x20
        return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "#")
    }

    @inline(__always)
    static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
        case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
        case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
        default: out.append(b)
        }
    }
}

/// The sanitiser's result.
public struct SanitizedHTML: Sendable, Equatable {
    /// Always well-formed, escaped HTML (a fragment: no `<html>`, `<head>` or `<body>`).
    public var html: String
    /// Why this is the plain-text fallback; nil when the HTML was sanitised from its tree.
    public var fallback: HTMLError?
}
