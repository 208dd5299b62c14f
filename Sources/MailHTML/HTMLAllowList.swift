/// What survives sanitising: a typical allow-list for email, deliberately closed (anything not
/// named here is removed).
///
/// Elements fall in three groups. **Kept** elements are written with their allowed attributes.
/// **Dropped** elements are removed together with everything inside them: active content
/// (`script`, `iframe`, `object`, `embed`, `applet`, `frame(set)`), document-level elements that
/// would act on the CRM's page (`base`, `meta` — a refresh —, `link`, `style`, `title`), forms'
/// controls, SVG and MathML (whole foreign-content trees: they bring their own scripting,
/// animation and `href` vectors, and email clients rarely render them), and the elements whose
/// content browsers parse differently from libxml2 (`noscript`, `template`, `noembed`,
/// `noframes`): dropping them outright closes the mutation-XSS shapes built on that difference.
/// Every **other** element is unwrapped: the tag goes, its text and kept descendants stay (Outlook's
/// `<o:p>`, `<form>`, `<label>`, unknown tags).
///
/// `<style>` blocks are dropped, not filtered: a stylesheet's selectors reach the whole page the
/// CRM renders the email in (`body { display: none }`, the CRM's own classes), so only inline
/// `style` attributes, which apply to their element alone, are kept (after `CSSPolicy`). For the
/// same reason `class` and `id` are removed (no CRM class or DOM-clobbering `id`/`name`).
enum HTMLAllowList {
    /// How a kept element is written.
    struct Element: Sendable {
        /// Void elements have no end tag and no content (`<br>`, `<img>`).
        var isVoid = false
        /// Attributes allowed on this element beyond `globalAttributes`.
        var attributes: Set<String> = []
    }

    /// The result of looking an element up.
    enum Rule: Sendable {
        case keep(Element)
        case drop
        case unwrap
    }

    static func rule(for name: String) -> Rule {
        if let e = kept[name] { return .keep(e) }
        return dropped.contains(name) ? .drop : .unwrap
    }

    /// Presentational and language attributes allowed on every kept element.
    static let globalAttributes: Set<String> = [
        "align", "valign", "bgcolor", "border", "cellpadding", "cellspacing", "width", "height", "dir", "lang",
        "title", "style", "nowrap",
    ]

    /// Attributes holding a URL, with what the URL may load (`URLPolicy`).
    static let urlAttributes: [String: URLPolicy.Context] = [
        "href": .link, "src": .image, "cite": .citation, "background": .image,
    ]

    private static let text = Element()
    private static let quoted = Element(attributes: ["cite"])
    private static let cell = Element(attributes: ["colspan", "rowspan", "scope", "abbr", "headers", "background"])

    static let kept: [String: Element] = [
        // structure and text
        "div": text, "p": text, "span": text, "br": Element(isVoid: true), "hr": Element(isVoid: true, attributes: ["size", "noshade"]),
        "h1": text, "h2": text, "h3": text, "h4": text, "h5": text, "h6": text,
        "center": text, "section": text, "article": text, "header": text, "footer": text, "main": text, "nav": text,
        "aside": text, "address": text, "figure": text, "figcaption": text, "details": text, "summary": text,
        "pre": text, "code": text, "kbd": text, "samp": text, "var": text, "tt": text,
        "b": text, "strong": text, "i": text, "em": text, "u": text, "s": text, "strike": text, "small": text, "big": text,
        "sub": text, "sup": text, "mark": text, "abbr": text, "acronym": text, "cite": text, "dfn": text,
        "bdi": text, "bdo": text, "ruby": text, "rt": text, "rp": text, "wbr": Element(isVoid: true),
        "blockquote": quoted, "q": quoted, "del": Element(attributes: ["cite", "datetime"]),
        "ins": Element(attributes: ["cite", "datetime"]), "time": Element(attributes: ["datetime"]),
        "font": Element(attributes: ["color", "face", "size"]),
        // lists
        "ul": Element(attributes: ["type"]), "ol": Element(attributes: ["type", "start", "reversed"]),
        "li": Element(attributes: ["type", "value"]), "dl": text, "dt": text, "dd": text,
        // tables
        "table": Element(attributes: ["summary", "frame", "rules", "background"]), "caption": text,
        "thead": text, "tbody": text, "tfoot": text, "tr": Element(attributes: ["background"]),
        "td": cell, "th": cell, "colgroup": Element(attributes: ["span"]), "col": Element(isVoid: true, attributes: ["span"]),
        // links and images (URL checks in `URLPolicy`)
        "a": Element(attributes: ["href"]),
        "img": Element(isVoid: true, attributes: ["src", "alt", "hspace", "vspace"]),
    ]

    static let dropped: Set<String> = [
        "script", "style", "link", "meta", "base", "title", "head",
        "iframe", "frame", "frameset", "object", "embed", "applet", "param", "portal",
        "noscript", "template", "noembed", "noframes", "xmp", "plaintext",
        "input", "button", "select", "option", "optgroup", "textarea", "datalist", "keygen", "output",
        "svg", "math", "audio", "video", "source", "track", "canvas", "dialog", "slot",
    ]
}
