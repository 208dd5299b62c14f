import MailDomain

/// Filters an inline `style` attribute down to allowed declarations.
///
/// The value arrives with HTML character references decoded (libxml2). Refused outright, whole
/// attribute: a backslash (CSS escapes such as `\65xpression` or `\;` would make what is checked
/// differ from what the browser reads) and an unterminated comment or string. Comments are
/// replaced by a space, as CSS tokenises them (`expr/**/ession` is two identifiers). Then each
/// declaration is kept only if its property is in `properties`, its value holds no control
/// character, no `<`, `>` or `@`, none of `expression`, `javascript`, `vbscript`, `behavior`,
/// `binding`, `import`, and calls no function but `rgb(a)`, `hsl(a)` and `url()`, whose URL must pass
/// `URLPolicy` as an image (and, when the tenant blocks remote images, not be remote).
/// Declarations are written back as `name: value` joined by `; `.
enum CSSPolicy {
    static let properties: Set<String> = [
        "background", "background-color", "background-image", "background-position", "background-repeat", "background-size",
        "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style", "border-width",
        "border-top-color", "border-right-color", "border-bottom-color", "border-left-color",
        "border-top-style", "border-right-style", "border-bottom-style", "border-left-style",
        "border-top-width", "border-right-width", "border-bottom-width", "border-left-width",
        "border-collapse", "border-spacing", "border-radius", "border-top-left-radius", "border-top-right-radius",
        "border-bottom-left-radius", "border-bottom-right-radius",
        "color", "direction", "display", "float", "clear", "visibility",
        "font", "font-family", "font-size", "font-style", "font-variant", "font-weight",
        "width", "height", "max-width", "min-width", "max-height", "min-height",
        "letter-spacing", "line-height", "word-spacing", "word-break", "word-wrap", "overflow-wrap", "white-space",
        "list-style", "list-style-type", "list-style-position",
        "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
        "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
        "table-layout", "caption-side", "empty-cells", "text-align", "text-decoration", "text-indent", "text-transform",
        "vertical-align", "overflow",
    ]

    private static let forbiddenWords: [[UInt8]] = ["expression", "javascript", "vbscript", "behavior", "binding", "import"]
        .map { Array($0.utf8) }
    private static let functions: Set<String> = ["rgb", "rgba", "hsl", "hsla", "url"]

    /// The allowed declarations of `style`, or nil when none is left.
    static func sanitise(_ style: [UInt8], remoteImages: RemoteImagePolicy) -> [UInt8]? {
        guard !style.contains(UInt8(ascii: "\\")) else { return nil }
        // Tabs, line breaks and form feeds are whitespace to CSS; other controls refuse a value below.
        let spaced = style.map { $0 == 0x09 || $0 == 0x0A || $0 == 0x0C || $0 == 0x0D ? 0x20 : $0 }
        guard let plain = withoutComments(spaced) else { return nil }
        var out: [UInt8] = []
        for declaration in split(plain) {
            guard let colon = declaration.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = trimmed(declaration[..<colon]).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            let value = Array(trimmed(declaration[(colon + 1)...]))
            guard !value.isEmpty, properties.contains(String(decoding: name, as: UTF8.self)),
                  isAllowed(value: value, remoteImages: remoteImages) else { continue }
            if !out.isEmpty { out.append(contentsOf: "; ".utf8) }
            out.append(contentsOf: name)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value)
        }
        return out.isEmpty ? nil : out
    }

    /// The text with each `/* … */` replaced by a space; nil for an unterminated comment.
    static func withoutComments(_ s: [UInt8]) -> [UInt8]? {
        guard s.contains(UInt8(ascii: "*")) else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if s[i] == UInt8(ascii: "/") && i + 1 < s.count && s[i + 1] == UInt8(ascii: "*") {
                var j = i + 2
                while j + 1 < s.count && !(s[j] == UInt8(ascii: "*") && s[j + 1] == UInt8(ascii: "/")) { j += 1 }
                guard j + 1 < s.count else { return nil }
                out.append(0x20)
                i = j + 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// Declarations split at `;` outside quotes and parentheses. An unterminated string ends the
    /// list (what follows it is dropped, as a browser would drop it).
    static func split(_ s: [UInt8]) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = 0, depth = 0
        var quote: UInt8? = nil
        for (i, b) in s.enumerated() {
            if let q = quote {
                if b == q { quote = nil }
                continue
            }
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = b
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"): depth = max(0, depth - 1)
            case UInt8(ascii: ";") where depth == 0:
                parts.append(s[start..<i])
                start = i + 1
            default: break
            }
        }
        if quote == nil && start < s.count { parts.append(s[start...]) }
        return parts
    }

    static func isAllowed(value: [UInt8], remoteImages: RemoteImagePolicy) -> Bool {
        let lower = value.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        if lower.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "@") }) {
            return false
        }
        for word in forbiddenWords where contains(lower, word) { return false }
        // Every "(" must follow an allowed function name; url()'s argument must be an allowed image.
        var i = 0
        while i < lower.count {
            guard lower[i] == UInt8(ascii: "(") else { i += 1; continue }
            var n = i
            while n > 0, isNameByte(lower[n - 1]) { n -= 1 }
            let function = String(decoding: lower[n..<i], as: UTF8.self)
            guard functions.contains(function) else { return false }
            guard let close = lower[(i + 1)...].firstIndex(of: UInt8(ascii: ")")) else { return false }
            if function == "url" {
                guard let url = unquoted(value[(i + 1)..<close]) else { return false }
                switch URLPolicy.check(url, context: .image) {
                case .allow: break
                case .remote: if remoteImages == .block { return false }
                case .refuse: return false
                }
            }
            i = close + 1
        }
        return true
    }

    /// The argument of `url()`: trimmed, without matching quotes; nil when a quote is unbalanced.
    static func unquoted(_ arg: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let t = trimmed(arg)
        guard let first = t.first, first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") else {
            return t.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }) ? nil : t
        }
        guard t.count >= 2, t.last == first else { return nil }
        let inner = t.dropFirst().dropLast()
        return inner.contains(first) ? nil : inner
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-")
    }

    private static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var t = s
        while let f = t.first, f <= 0x20 { t = t.dropFirst() }
        while let l = t.last, l <= 0x20 { t = t.dropLast() }
        return t
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
