import Foundation
import MailProtocol

/// Builds the IMAP URLs libcurl understands (RFC 5092 as libcurl implements it).
///
/// libcurl URL-decodes the mailbox path and then quotes it itself for SELECT/APPEND, so the path
/// carries the mailbox's wire name (modified UTF-7, RFC 3501 §5.1.3) with every byte outside the
/// unreserved set percent-encoded: `;` would start a URL parameter, `?` a query, `%` an escape.
struct IMAPURL {
    let base: String

    init(endpoint: IMAPEndpoint) {
        let scheme = endpoint.security == .tls ? "imaps" : "imap"
        // An IPv6 literal needs brackets in a URL.
        let host = endpoint.host.contains(":") && !endpoint.host.hasPrefix("[") ? "[\(endpoint.host)]" : endpoint.host
        base = "\(scheme)://\(host):\(endpoint.port)/"
    }

    /// The server root: custom commands that do not need a selected mailbox.
    var root: String { base }

    /// A mailbox: libcurl SELECTs it before a custom command unless it is selected already.
    func mailbox(_ name: String) -> String { base + percentEncoded(ModifiedUTF7.encode(name)) }

    /// One message (`UID FETCH n BODY[…]`), optionally checked against a UIDVALIDITY.
    func message(_ name: String, uid: UInt32, uidValidity: UInt32? = nil, section: String? = nil) -> String {
        var url = mailbox(name)
        if let uidValidity { url += ";UIDVALIDITY=\(uidValidity)" }
        url += "/;UID=\(uid)"
        if let section { url += "/;SECTION=\(percentEncoded(section))" }
        return url
    }
}

/// Percent-encodes every byte outside RFC 3986 `unreserved`.
func percentEncoded(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
        }
    }
    return out
}
