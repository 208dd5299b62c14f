/// The visible text of an HTML document, for matching (not for display): tags dropped, `script` and
/// `style` contents dropped, comments dropped, block elements and `<br>` turned into line breaks,
/// character references decoded (named ones for the common entities, numeric ones all).
public enum HTMLText {
    static let blockTags: Set<String> = ["p", "br", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                                         "ul", "ol", "blockquote", "pre", "hr", "td", "th", "section", "article"]
    static let named: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ",
                                          "auml": "ä", "ouml": "ö", "uuml": "ü", "Auml": "Ä", "Ouml": "Ö", "Uuml": "Ü",
                                          "szlig": "ß", "eacute": "é", "egrave": "è", "euro": "€", "copy": "©",
                                          "mdash": "—", "ndash": "–", "hellip": "…", "rsquo": "’", "lsquo": "‘",
                                          "ldquo": "“", "rdquo": "”"]

    public static func extract(_ html: String) -> String {
        let s = Array(html.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var skipUntil: String?  // closing tag name of script/style being skipped
        while i < s.count {
            let c = s[i]
            if c == "<" {
                if hasPrefix(s, i, "<!--") {
                    i = find(s, from: i + 4, "-->").map { $0 + 3 } ?? s.count
                    continue
                }
                let close = find(s, from: i + 1, ">") ?? s.count
                let tag = String(String.UnicodeScalarView(s[(i + 1)..<min(close, s.count)]))
                let isEnd = tag.hasPrefix("/")
                let name = tag.drop(while: { $0 == "/" }).prefix(while: { $0.isLetter || $0.isNumber }).lowercased()
                i = close + 1
                if let waiting = skipUntil {
                    if isEnd && name == waiting { skipUntil = nil }
                    continue
                }
                if !isEnd && (name == "script" || name == "style") && !tag.hasSuffix("/") { skipUntil = name; continue }
                if blockTags.contains(name) { out.append("\n") } else { out.append(" ") }
                continue
            }
            if skipUntil != nil { i += 1; continue }
            if c == "&", let semi = find(s, from: i + 1, ";", limit: i + 12) {
                let ref = String(String.UnicodeScalarView(s[(i + 1)..<semi]))
                if let decoded = decode(ref) {
                    out.append(contentsOf: decoded.unicodeScalars)
                    i = semi + 1
                    continue
                }
            }
            out.append(c)
            i += 1
        }
        return String(out)
    }

    static func decode(_ ref: String) -> String? {
        if ref.hasPrefix("#x") || ref.hasPrefix("#X") {
            return UInt32(ref.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
        if ref.hasPrefix("#") {
            return UInt32(ref.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
        }
        return named[ref]
    }

    static func hasPrefix(_ s: [Unicode.Scalar], _ at: Int, _ p: String) -> Bool {
        let p = Array(p.unicodeScalars)
        guard at + p.count <= s.count else { return false }
        return Array(s[at..<(at + p.count)]) == p
    }

    static func find(_ s: [Unicode.Scalar], from: Int, _ p: String, limit: Int = .max) -> Int? {
        var i = from
        while i < min(s.count, limit) {
            if hasPrefix(s, i, p) { return i }
            i += 1
        }
        return nil
    }
}
