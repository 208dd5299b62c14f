import Foundation

/// The Message-ID an email is stored and deduplicated under.
public enum MessageIdentity {
    /// The domain of synthetic ids. `.invalid` (RFC 2606) can never collide with a real host.
    public static let syntheticDomain = "synthetic.mailroom.invalid"

    /// Longest Message-ID kept verbatim; longer ones are replaced by a digest so the unique index
    /// (B-tree entries are limited to about 2.7 kB) never rejects a message.
    public static let maxLength = 512

    /// Returns the id to store and whether it was made up.
    /// - Parameters:
    ///   - header: the parsed Message-ID without angle brackets, if any.
    ///   - digest: a stable hex digest of the message's identity (headers that survive delivery plus
    ///     the body), so the same message without an id, delivered to two mailboxes, gets one id.
    ///   - longIDDigest: computes a digest of an over-long id.
    public static func resolve(header: String?, digest: () -> String, longIDDigest: (String) -> String) -> (id: String, synthetic: Bool) {
        // A folded or broken id (a line break inside) is unfolded: stored ids are single lines.
        let trimmed = header.map { trimmingBrackets(HeaderLine.unfold($0)) } ?? ""
        if trimmed.isEmpty || trimmed.unicodeScalars.contains(where: { $0.value < 0x21 }) && !trimmed.contains("@") {
            return ("\(digest())@\(syntheticDomain)", true)
        }
        if trimmed.utf8.count > maxLength {
            return ("\(longIDDigest(trimmed))@long.\(syntheticDomain)", false)
        }
        return (trimmed, false)
    }

    /// `<`, `>`, space and tab removed from both ends. They are ASCII, so bytes are trimmed (the
    /// same result as trimming those characters, without Foundation's bridged `CharacterSet` path).
    static func trimmingBrackets(_ value: String) -> String {
        let bytes = Array(value.utf8)
        func trimmed(_ b: UInt8) -> Bool { b == 0x3C || b == 0x3E || b == 0x20 || b == 0x09 }
        guard let first = bytes.firstIndex(where: { !trimmed($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !trimmed($0) })!
        if first == 0 && last == bytes.count - 1 { return value }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
