import Foundation

/// Formats and parses `timestamptz` text. Every session runs with `TimeZone=UTC` and ISO `DateStyle`, so
/// the server always answers `2026-12-01 01:35:37.123456+00`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var secs = floor(t)
        var micros = Int(((t - secs) * 1_000_000).rounded())
        if micros == 1_000_000 { secs += 1; micros = 0 }
        var tm = tm()
        var tt = time_t(secs)
        gmtime_r(&tt, &tm)
        // `YYYY-MM-DD HH:MM:SS.ffffff+00`, digit by digit: `String(format:)` showed up in profiles
        // of the import. Years outside 0…9999 keep every digit (as `%04d` did).
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func digits(_ value: Int, _ width: Int) {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            let text = Array(String(abs(value)).utf8)
            if text.count < width { out += [UInt8](repeating: UInt8(ascii: "0"), count: width - text.count) }
            out += text
        }
        digits(Int(tm.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(tm.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(tm.tm_mday), 2); out.append(UInt8(ascii: " "))
        digits(Int(tm.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(tm.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(tm.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(micros, 6)
        out += Array("+00".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]+00` (also a bare date, read as midnight UTC).
    static func parse(_ s: String) -> Date? {
        let b = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= b.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2) else { return nil }
        var h = 0, mi = 0, sec = 0
        var frac = 0.0
        var i = 10
        if b.count >= 19 {
            guard let hh = num(11, 2), let mm = num(14, 2), let ss = num(17, 2) else { return nil }
            (h, mi, sec) = (hh, mm, ss)
            i = 19
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                var scale = 0.1
                while i < b.count, b[i] >= 48, b[i] <= 57 { frac += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
            }
        }
        var offset = 0
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            let oh = num(i + 1, 2) ?? 0
            let om = (i + 3 < b.count && b[i + 3] == UInt8(ascii: ":")) ? (num(i + 4, 2) ?? 0) : 0
            offset = sign * (oh * 3600 + om * 60)
        }
        var tm = tm()
        tm.tm_year = Int32(y - 1900); tm.tm_mon = Int32(mo - 1); tm.tm_mday = Int32(d)
        tm.tm_hour = Int32(h); tm.tm_min = Int32(mi); tm.tm_sec = Int32(sec)
        let epoch = timegm(&tm)
        return Date(timeIntervalSince1970: Double(epoch) - Double(offset) + frac)
    }
}
