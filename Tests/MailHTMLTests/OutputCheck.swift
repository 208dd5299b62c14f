import Foundation
import Testing
import MailDomain
import MailHTML

/// Reads sanitised output back, the way a test can trust: the sanitiser escapes `<` and `>` in
/// text and attributes and double-quotes every attribute value, so every `<` starts a tag.
struct OutputCheck {
    struct Tag {
        var name: String
        var isEnd: Bool
        var attributes: [(name: String, value: String)]
    }

    let html: String
    let tags: [Tag]

    init(_ html: String) {
        self.html = html
        var tags: [Tag] = []
        var rest = Substring(html)
        while let open = rest.firstIndex(of: "<") {
            let afterOpen = rest[rest.index(after: open)...]
            guard let close = afterOpen.firstIndex(of: ">") else {
                tags.append(Tag(name: "<unclosed>", isEnd: false, attributes: []))
                break
            }
            var body = afterOpen[..<close]
            let isEnd = body.hasPrefix("/")
            if isEnd { body = body.dropFirst() }
            let name = String(body.prefix { $0.isLetter || $0.isNumber })
            var attributes: [(String, String)] = []
            for m in String(body.dropFirst(name.count)).matches(of: /\s+([^\s=">]+)(?:="([^"]*)")?/) {
                attributes.append((String(m.1), Self.decode(String(m.2 ?? ""))))
            }
            tags.append(Tag(name: name, isEnd: isEnd, attributes: attributes))
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        self.tags = tags
    }

    static func decode(_ s: String) -> String {
        s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    static let elements: Set<String> = [
        "div", "p", "span", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "center", "section", "article", "header", "footer",
        "main", "nav", "aside", "address", "figure", "figcaption", "details", "summary", "pre", "code", "kbd", "samp", "var",
        "tt", "b", "strong", "i", "em", "u", "s", "strike", "small", "big", "sub", "sup", "mark", "abbr", "acronym", "cite",
        "dfn", "bdi", "bdo", "ruby", "rt", "rp", "wbr", "blockquote", "q", "del", "ins", "time", "font", "ul", "ol", "li",
        "dl", "dt", "dd", "table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "colgroup", "col", "a", "img",
    ]
    static let voidElements: Set<String> = ["br", "hr", "wbr", "col", "img"]
    static let attributes: Set<String> = [
        "align", "valign", "bgcolor", "border", "cellpadding", "cellspacing", "width", "height", "dir", "lang", "title",
        "style", "nowrap", "size", "noshade", "cite", "datetime", "color", "face", "type", "start", "reversed", "value",
        "summary", "frame", "rules", "background", "colspan", "rowspan", "scope", "abbr", "headers", "span", "href", "src",
        "alt", "hspace", "vspace", "rel", "target", "data-blocked-src", "data-blocked-background",
    ]
    static let urlAttributes: Set<String> = ["href", "src", "cite", "background", "data-blocked-src", "data-blocked-background"]

    /// Every property the sanitised HTML must have, whatever went in; records an issue per breach.
    func expectSafe(input: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let context = Comment(rawValue: "input: \(input)\noutput: \(html)")
        var stack: [String] = []
        for tag in tags {
            #expect(Self.elements.contains(tag.name), "element <\(tag.name)> not on the allow-list", sourceLocation: sourceLocation)
            if tag.isEnd {
                #expect(stack.popLast() == tag.name, "end tag </\(tag.name)> does not close the open element. \(context)",
                        sourceLocation: sourceLocation)
                continue
            }
            if !Self.voidElements.contains(tag.name) { stack.append(tag.name) }
            for (name, value) in tag.attributes {
                let cleaned = String(value.unicodeScalars.filter { $0.value > 0x20 }.map(Character.init)).lowercased()
                #expect(!cleaned.contains("javascript:") && !cleaned.contains("vbscript:"),
                        "script URL in \(name). \(context)", sourceLocation: sourceLocation)
                #expect(Self.attributes.contains(name), "attribute \(name) on <\(tag.name)>. \(context)", sourceLocation: sourceLocation)
                #expect(!name.lowercased().hasPrefix("on"), "event handler \(name). \(context)", sourceLocation: sourceLocation)
                if Self.urlAttributes.contains(name) {
                    let scheme = Self.scheme(value)
                    #expect(["http", "https", "mailto", "tel", "cid", "data"].contains(scheme),
                            "URL \(name)=\(value) has scheme \(scheme ?? "none"). \(context)", sourceLocation: sourceLocation)
                    if scheme == "data" {
                        #expect(value.lowercased().wholeMatch(of: /data:image\/(png|gif|jpeg|webp)[;,].*/) != nil,
                                "data URL \(value). \(context)", sourceLocation: sourceLocation)
                    }
                }
                if name == "style" {
                    let css = value.lowercased()
                    for word in ["expression", "javascript", "vbscript", "behavior", "binding", "@import", "\\", "position"] {
                        #expect(!css.contains(word), "style holds \(word). \(context)", sourceLocation: sourceLocation)
                    }
                }
            }
        }
        #expect(stack.isEmpty, "unclosed elements \(stack). \(context)", sourceLocation: sourceLocation)
        let lower = html.lowercased()
        #expect(!lower.contains("<script"), "<script. \(context)", sourceLocation: sourceLocation)
    }

    /// The scheme a browser would see: controls and whitespace removed, lowercased.
    static func scheme(_ url: String) -> String? {
        let cleaned = String(url.unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F }.map(Character.init)).lowercased()
        guard let colon = cleaned.firstIndex(of: ":") else { return nil }
        let s = cleaned[..<colon]
        return s.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) ? String(s) : nil
    }

    func attributes(of element: String) -> [[String: String]] {
        tags.filter { $0.name == element && !$0.isEnd }.map { Dictionary($0.attributes.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) }
    }
}

func sanitize(_ html: String, _ policy: RemoteImagePolicy = .allow, text: String? = nil) -> SanitizedHTML {
    HTMLSanitizer(remoteImages: policy).sanitize(html: html, textBody: text)
}
