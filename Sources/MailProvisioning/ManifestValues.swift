extension Manifest {
    /// An email address checked for syntax. `address` is lowercased and is what matching, uniqueness and the
    /// database use; `original` keeps the spelling from the manifest for display.
    public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
        public var address: String
        public var original: String

        /// Validates the common `local@domain` form: a dot-atom local part (RFC 5322 §3.2.3, at most 64
        /// octets) and a host name of letters, digits and hyphens (RFC 5321 §4.1.2); quoted local parts and
        /// address literals are refused on purpose, since no real mailbox of a tenant needs them.
        public init?(_ text: String) {
            guard text.utf8.count <= 254, let at = text.lastIndex(of: "@") else { return nil }
            let local = text[..<at], domain = text[text.index(after: at)...]
            guard Self.isDotAtom(local, maxLength: 64), Self.isHostName(domain) else { return nil }
            self.address = text.lowercased()
            self.original = text
        }

        public var description: String { address }

        private static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")

        private static func isDotAtom(_ text: Substring, maxLength: Int) -> Bool {
            guard !text.isEmpty, text.utf8.count <= maxLength else { return false }
            return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { atom in
                !atom.isEmpty && atom.allSatisfy { atext.contains($0) }
            }
        }

        private static func isHostName(_ text: Substring) -> Bool {
            guard !text.isEmpty, text.utf8.count <= 253 else { return false }
            return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
        }
    }

    /// A calendar day without time zone, e.g. `fetch_since: 2026-01-01`.
    public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var year: Int
        public var month: Int
        public var day: Int

        /// Parses `YYYY-MM-DD`, rejecting days that do not exist (2026-02-30).
        public init?(iso text: String) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                  let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
                  (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year)
            else { return nil }
            self.year = year
            self.month = month
            self.day = day
        }

        /// `YYYY-MM-DD`.
        public var description: String {
            let m = month < 10 ? "0\(month)" : "\(month)", d = day < 10 ? "0\(day)" : "\(day)"
            return "\(year)-\(m)-\(d)"
        }

        /// The IMAP `date` form used by `SEARCH SINCE` (RFC 3501 §9: `date-day "-" date-month "-" date-year`),
        /// e.g. `1-Jan-2026`.
        public var imapDate: String {
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            return "\(day)-\(months[month - 1])-\(year)"
        }

        public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
            (a.year, a.month, a.day) < (b.year, b.month, b.day)
        }

        private static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
            case 4, 6, 9, 11: 30
            default: 31
            }
        }
    }
}
