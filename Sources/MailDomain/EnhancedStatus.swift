/// Enhanced mail system status codes (RFC 3463: `class.subject.detail`, class 2, 4 or 5) and what they imply.
enum EnhancedStatus {
    /// The first code written in `text` (`5.1.1` in `550 5.1.1 <x@y>` or in `(#5.1.1)`), or nil.
    static func first(in text: String) -> String? {
        let bytes = Array(text.utf8)
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 48 && bytes[i] <= 57 }
        var i = 0
        while i + 4 < bytes.count {
            defer { i += 1 }
            guard bytes[i] == 50 || bytes[i] == 52 || bytes[i] == 53, bytes[i + 1] == 46 else { continue }
            if i > 0, isDigit(i - 1) || bytes[i - 1] == 46 { continue }
            var j = i + 2
            let subjectStart = j
            while isDigit(j), j - subjectStart < 3 { j += 1 }
            guard j > subjectStart, j < bytes.count, bytes[j] == 46 else { continue }
            j += 1
            let detailStart = j
            while isDigit(j), j - detailStart < 3 { j += 1 }
            guard j > detailStart, !isDigit(j), !(j < bytes.count && bytes[j] == 46 && isDigit(j + 1)) else { continue }
            return String(decoding: bytes[i..<j], as: UTF8.self)
        }
        return nil
    }

    /// The first basic SMTP reply code (RFC 5321 §4.2: `550`, `452`) that starts a word, or nil.
    static func basicCode(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < bytes.count && bytes[i] >= 48 && bytes[i] <= 57 }
        var i = 0
        while i + 2 < bytes.count {
            defer { i += 1 }
            guard bytes[i] == 52 || bytes[i] == 53, isDigit(i + 1), isDigit(i + 2), !isDigit(i - 1), !isDigit(i + 3) else { continue }
            if i > 0, bytes[i - 1] == 46 { continue }
            if i + 3 < bytes.count, bytes[i + 3] == 46 { continue }
            return Int(String(decoding: bytes[i...(i + 2)], as: UTF8.self))
        }
        return nil
    }

    /// The action a report implies when it names none: by the status class, else failed.
    static func impliedAction(_ status: String?) -> DeliveryReport.Action {
        switch status?.first {
        case "2": .delivered
        case "4": .delayed
        default: .failed
        }
    }
}
