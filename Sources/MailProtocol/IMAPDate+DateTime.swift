import Foundation

extension IMAPDate {
    /// Renders a `date-time` (RFC 3501 §9) in UTC, as APPEND's INTERNALDATE argument takes it:
    /// `"07-Dec-2026 16:05:09 +0000"` (quoted, day zero-padded to two digits).
    public static func dateTime(_ date: Date) -> String {
        let total = Int(date.timeIntervalSince1970.rounded(.down))
        let days = Int((Double(total) / 86_400).rounded(.down))
        let seconds = total - days * 86_400
        let (year, month, day) = civilFromDays(days)
        let name = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month - 1]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\"\(two(day))-\(name)-\(yearText) \(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60)) +0000\""
    }
}
