/// Decides whether a URL may stay in sanitised HTML, on the value as a browser would use it.
///
/// libxml2 has already decoded character references in attribute values (`&#106;avascript:`,
/// `jav&#x09;ascript:` arrive as plain characters). The URL is then normalised the way the WHATWG
/// URL parser does before it looks for a scheme: leading and trailing C0 controls and spaces
/// removed, tabs and line breaks removed everywhere. Any other control character left refuses the
/// URL. What is checked is exactly what is written.
///
/// Only absolute URLs with an allowed scheme pass: a relative URL (or a scheme with characters a
/// scheme cannot hold, such as `java script:`) would resolve against the CRM's own origin, where an
/// `img src` becomes a request the user never chose.
enum URLPolicy {
    enum Context: Sendable {
        /// `a href`: http, https, mailto, tel.
        case link
        /// `img src`, `background`, CSS `url()`: http(s) (remote), `cid:` (the email's inline
        /// parts), `data:image/(png|gif|jpeg|webp)`.
        case image
        /// `cite` on quotes: http, https (never loaded by browsers).
        case citation
    }

    enum Verdict: Equatable {
        /// Keep, written as these bytes.
        case allow([UInt8])
        /// An image loaded from the network (http or https); kept or blocked by the tenant's policy.
        case remote([UInt8])
        case refuse
    }

    static func check(_ raw: some Collection<UInt8>, context: Context) -> Verdict {
        guard let url = normalise(raw), let scheme = scheme(of: url) else { return .refuse }
        switch context {
        case .link:
            return ["http", "https", "mailto", "tel"].contains(scheme) ? .allow(url) : .refuse
        case .citation:
            return scheme == "http" || scheme == "https" ? .allow(url) : .refuse
        case .image:
            if scheme == "http" || scheme == "https" { return .remote(url) }
            if scheme == "cid" { return .allow(url) }
            return scheme == "data" && isAllowedDataImage(url) ? .allow(url) : .refuse
        }
    }

    /// Trims C0 controls and spaces at both ends, removes tab, LF and CR; nil when empty or when
    /// another control character (or DEL) remains.
    static func normalise(_ raw: some Collection<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        for b in raw {
            if b == 0x09 || b == 0x0A || b == 0x0D { continue }
            if out.isEmpty && b <= 0x20 { continue }
            out.append(b)
        }
        while let last = out.last, last <= 0x20 { out.removeLast() }
        if out.isEmpty || out.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return nil }
        return out
    }

    /// The lowercased scheme (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) before the
    /// first ":"), or nil for a relative reference.
    static func scheme(of url: [UInt8]) -> String? {
        var scheme: [UInt8] = []
        for (i, b) in url.enumerated() {
            let lower = b | 0x20
            if b == UInt8(ascii: ":") { return i == 0 ? nil : String(decoding: scheme, as: UTF8.self) }
            if lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z") {
                scheme.append(lower)
            } else if i > 0 && ((b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "+")
                                 || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")) {
                scheme.append(b)
            } else {
                return nil
            }
        }
        return nil
    }

    private static let dataImagePrefixes: [[UInt8]] = ["png", "gif", "jpeg", "webp"].map { Array("data:image/\($0)".utf8) }

    /// `data:image/png`, `gif`, `jpeg` or `webp`, followed by `;` (parameters, `;base64`) or `,`.
    /// Not SVG: an SVG image can carry script.
    static func isAllowedDataImage(_ url: [UInt8]) -> Bool {
        for prefix in dataImagePrefixes where url.count > prefix.count {
            var matches = true
            for (i, p) in prefix.enumerated() where (url[i] | (url[i] >= 0x41 && url[i] <= 0x5A ? 0x20 : 0)) != p {
                matches = false
                break
            }
            let next = url[prefix.count]
            if matches && (next == UInt8(ascii: ";") || next == UInt8(ascii: ",")) { return true }
        }
        return false
    }
}
