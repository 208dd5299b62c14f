internal import CLibXML2
import MailDomain

/// Walks a libxml2 tree and writes the allowed part of it as HTML (`HTMLAllowList`, `URLPolicy`,
/// `CSSPolicy`): every text escaped, every attribute double-quoted and escaped, every kept element
/// closed, comments, doctype, processing instructions and CDATA left out.
///
/// The walk is iterative (sibling, child and parent links; no recursion) and linear in the size of
/// the tree; it stops with an `HTMLError` as soon as a budget of `HTMLSanitizer.Limits` is spent.
/// Works on bytes: names become (small, inline) `String`s for table look-ups, text and attribute
/// values are copied byte by byte.
struct HTMLTreeWriter {
    let remoteImages: RemoteImagePolicy
    let limits: HTMLSanitizer.Limits
    private(set) var output: [UInt8] = []
    private var nodes = 0

    init(remoteImages: RemoteImagePolicy, limits: HTMLSanitizer.Limits, expectedSize: Int) {
        self.remoteImages = remoteImages
        self.limits = limits
        output.reserveCapacity(expectedSize + expectedSize / 8)
    }

    mutating func write(_ document: HTMLDocument) throws(HTMLError) {
        // One entry per element the walk is inside of: its end tag, or nil when unwrapped.
        var open: [String?] = []
        var next = document.firstChild
        while let node = next {
            try count()
            var descend = false
            var endTag: String? = nil
            switch node.pointee.type {
            case XML_TEXT_NODE:
                if let content = node.pointee.content { appendEscaped(content, quote: false) }
            case XML_ELEMENT_NODE:
                let name = Self.name(node.pointee.name)
                switch HTMLAllowList.rule(for: name) {
                case .drop:
                    break
                case .unwrap:
                    descend = true
                case .keep(let element):
                    try writeStartTag(name, element, node)
                    if !element.isVoid {
                        descend = true
                        endTag = name
                    }
                }
            default:
                break  // comments, doctype, CDATA, processing instructions, entity nodes
            }
            if descend {
                if let child = node.pointee.children {
                    guard open.count < limits.maxDepth else { throw HTMLError(code: .tooDeep, measured: open.count + 1) }
                    open.append(endTag)
                    next = child
                    continue
                }
                if let endTag { appendEndTag(endTag) }
            }
            if output.count > limits.maxOutputBytes { throw HTMLError(code: .outputTooLarge, measured: output.count) }
            // The next sibling, or climb, closing what was opened, until an ancestor has one.
            var current = node
            next = nil
            while true {
                if let sibling = current.pointee.next {
                    next = sibling
                    break
                }
                guard let parent = current.pointee.parent, let endTag = open.popLast() else { break }
                if let endTag { appendEndTag(endTag) }
                current = parent
            }
        }
    }

    private mutating func count() throws(HTMLError) {
        nodes += 1
        if nodes > limits.maxNodes { throw HTMLError(code: .tooManyNodes, measured: nodes) }
    }

    private mutating func writeStartTag(_ name: String, _ element: HTMLAllowList.Element, _ node: xmlNodePtr) throws(HTMLError) {
        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: name.utf8)
        var isLink = false
        var next = node.pointee.properties
        while let attribute = next {
            next = attribute.pointee.next
            try count()
            let name = Self.name(attribute.pointee.name)
            guard HTMLAllowList.globalAttributes.contains(name) || element.attributes.contains(name) else { continue }
            let value = Self.value(of: attribute)
            if let context = HTMLAllowList.urlAttributes[name] {
                switch URLPolicy.check(value, context: context) {
                case .refuse:
                    continue
                case .allow(let url):
                    appendAttribute(name, url)
                case .remote(let url):
                    appendAttribute(remoteImages == .allow ? name : "data-blocked-" + name, url)
                }
                isLink = isLink || name == "href"
            } else if name == "style" {
                if let css = CSSPolicy.sanitise(value, remoteImages: remoteImages) { appendAttribute(name, css) }
            } else {
                appendAttribute(name, value)
            }
        }
        if isLink { output.append(contentsOf: #" rel="noopener noreferrer nofollow" target="_blank""#.utf8) }
        output.append(UInt8(ascii: ">"))
    }

    private mutating func appendEndTag(_ name: String) {
        output.append(contentsOf: "</".utf8)
        output.append(contentsOf: name.utf8)
        output.append(UInt8(ascii: ">"))
    }

    private mutating func appendAttribute(_ name: String, _ value: [UInt8]) {
        output.append(0x20)
        output.append(contentsOf: name.utf8)
        output.append(contentsOf: "=\"".utf8)
        value.withUnsafeBufferPointer { for b in $0 { appendEscaped(b, quote: true) } }
        output.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ text: UnsafePointer<xmlChar>, quote: Bool) {
        var p = text
        while p.pointee != 0 {
            appendEscaped(p.pointee, quote: quote)
            p += 1
        }
    }

    @inline(__always)
    private mutating func appendEscaped(_ b: UInt8, quote: Bool) {
        switch b {
        case UInt8(ascii: "&"): output.append(contentsOf: "&amp;".utf8)
        case UInt8(ascii: "<"): output.append(contentsOf: "&lt;".utf8)
        case UInt8(ascii: ">"): output.append(contentsOf: "&gt;".utf8)
        case UInt8(ascii: "\"") where quote: output.append(contentsOf: "&quot;".utf8)
        default: output.append(b)
        }
    }

    /// An element or attribute name, ASCII-lowercased (libxml2's HTML parser lowercases already;
    /// this keeps the tables' contract independent of that).
    static func name(_ raw: UnsafePointer<xmlChar>?) -> String {
        guard let raw else { return "" }
        let s = String(cString: raw)
        return s.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? s.lowercased() : s
    }

    /// An attribute's value with character references decoded (libxml2 decodes them while parsing);
    /// empty for an attribute written without a value.
    static func value(of attribute: xmlAttrPtr) -> [UInt8] {
        var value: [UInt8] = []
        var next = attribute.pointee.children
        while let child = next {
            if var p = UnsafePointer(child.pointee.content) {
                while p.pointee != 0 {
                    value.append(p.pointee)
                    p += 1
                }
            }
            next = child.pointee.next
        }
        return value
    }
}
