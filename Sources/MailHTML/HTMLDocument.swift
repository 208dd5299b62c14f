internal import CLibXML2

/// libxml2's global state, set up once before the first document is parsed (it is then safe to
/// parse separate documents on several threads).
private let libxml2Ready: Void = mr_xml_init()

/// One document parsed by libxml2's HTML parser: the only owner of the `htmlDocPtr`, freed in
/// `deinit`. Confined to the call that sanitises (not Sendable); nodes borrowed from it must not
/// outlive it.
final class HTMLDocument {
    let pointer: htmlDocPtr

    /// Parses UTF-8 bytes; nil when libxml2 returns no document (empty input included).
    init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        _ = libxml2Ready
        guard let base = bytes.baseAddress, !bytes.isEmpty, bytes.count < Int(Int32.max) else { return nil }
        let parsed = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            mr_html_parse_utf8($0, Int32(bytes.count))
        }
        guard let parsed else { return nil }
        pointer = parsed
    }

    deinit { xmlFreeDoc(pointer) }

    /// The document's top-level nodes (doctype, `<html>`, comments), first of a sibling list.
    var firstChild: xmlNodePtr? { pointer.pointee.children }
}
