import Foundation

/// IMAP's two date forms, converted without locales or formatters so that results never depend on
/// the machine's settings.
public enum IMAPDate {
    private static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    /// Parses a `date-time` (RFC 3501 §9), as in INTERNALDATE: `17-Jul-1996 02:44:25 -0700`.
    /// The day may be space-padded (`" 1-Jul-1996 …"`). Returns nil when malformed.
    public static func parseDateTime(_ text: String) -> Date? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard parts.count == 3 else { return nil }
        let dateParts = parts[0].split(separator: "-")
        let timeParts = parts[1].split(separator: ":")
        let zone = parts[2]
        guard dateParts.count == 3, timeParts.count == 3, zone.count == 5,
            let day = Int(dateParts[0]), let month = months.firstIndex(of: dateParts[1].uppercased()),
            let year = Int(dateParts[2]),
            let hour = Int(timeParts[0]), let minute = Int(timeParts[1]), let second = Int(timeParts[2]),
            let zoneHours = Int(zone.dropFirst().prefix(2)), let zoneMinutes = Int(zone.suffix(2)),
            zone.first == "+" || zone.first == "-",
            (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let offset = (zoneHours * 3600 + zoneMinutes * 60) * (zone.first == "-" ? -1 : 1)
        let days = daysFromCivil(year: year, month: month + 1, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Renders the `date` of SEARCH SINCE/BEFORE/ON (RFC 3501 §6.4.4): `1-Feb-2024`, the UTC
    /// calendar day of `date`. The server compares it with INTERNALDATE in its own time zone,
    /// ignoring the time of day.
    public static func searchDate(_ date: Date) -> String {
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        let (year, month, day) = civilFromDays(days)
        let name = months[month - 1]
        return "\(day)-\(name.prefix(1))\(name.dropFirst().lowercased())-\(year)"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
