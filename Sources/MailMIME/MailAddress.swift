/// One mailbox from an address header (`From`, `To`, …). Group syntax (RFC 5322 §3.4) is flattened:
/// a group contributes its members, never itself.
public struct MailAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The display name, RFC 2047-decoded; nil when the header gave none.
    public var name: String?
    /// The address as written (`local@domain`), trimmed of surrounding whitespace.
    public var address: String

    public init(name: String? = nil, address: String) {
        let trimmedName = name?.trimmingWhitespace()
        self.name = (trimmedName?.isEmpty ?? true) ? nil : trimmedName
        self.address = address.trimmingWhitespace()
    }

    /// The address lower-cased, for comparisons and look-ups. Strictly only the domain is
    /// case-insensitive (RFC 5321 §2.4), but no real mail system distinguishes local parts by case.
    public var normalized: String { address.lowercased() }

    /// `Name <address>` or the bare address.
    public var description: String {
        if let name { return "\(name) <\(address)>" }
        return address
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }

    /// The string with NUL characters removed: PostgreSQL `text` cannot hold them.
    /// Scans UTF-8 bytes (a NUL byte is only ever the NUL character): `contains` with a string
    /// argument goes through Foundation's bridged search, which showed up in profiles of the import.
    func removingNUL() -> String {
        utf8.contains(0) ? String(decoding: utf8.filter { $0 != 0 }, as: UTF8.self) : self
    }
}
