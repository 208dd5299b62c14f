import MailTesting
import Foundation

/// Deterministic, realistic test messages: the same seed and count always give the same bytes.
///
/// Mix (by message index, spread evenly): ~60 % small plain text (1–4 KB), ~20 %
/// multipart/alternative with an HTML part (5–20 KB), ~15 % multipart/mixed with a 20–200 KB
/// binary attachment (base64), ~5 % non-ASCII (RFC 2047 encoded-word subjects, ISO-8859-1
/// quoted-printable bodies). CRLF line ends throughout, every line below 78 characters.
struct MessageGenerator {
    enum Kind: String, CaseIterable, Sendable {
        case plain, alternative, attachment, latin1
    }

    let seed: UInt64

    func kind(of index: Int) -> Kind {
        switch index % 20 {
        case 0..<12: .plain
        case 12..<16: .alternative
        case 16..<19: .attachment
        default: .latin1
        }
    }

    func message(_ index: Int) -> [UInt8] {
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let kind = kind(of: index)
        let from = Self.people[rng.below(Self.people.count)]
        var to = [Self.people[rng.below(Self.people.count)]]
        if rng.below(3) == 0 { to.append(Self.people[rng.below(Self.people.count)]) }
        let date = Date(timeIntervalSince1970: 1_735_689_600 + Double(index) * 97)
        var header = """
            From: \(from.name) <\(from.address)>\r
            To: \(to.map { "\($0.name) <\($0.address)>" }.joined(separator: ", "))\r
            Date: \(Self.rfc5322Date(date))\r
            Message-ID: <bench-\(index)@generator.example>\r
            MIME-Version: 1.0\r

            """
        if rng.below(4) == 0 { header += "Cc: Support <support@acme.test>\r\n" }
        if index > 0 && rng.below(3) == 0 {
            header += "In-Reply-To: <bench-\(index - 1)@generator.example>\r\n"
            header += "References: <bench-\(index - 1)@generator.example>\r\n"
        }
        let subject = Self.words(&rng, count: 3 + rng.below(6))
        switch kind {
        case .plain:
            header += "Subject: \(subject)\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            return Array(header.utf8) + Array(Self.paragraphs(&rng, bytes: 1024 + rng.below(3 * 1024)).utf8)
        case .alternative:
            let boundary = "alt-\(index)-\(rng.next() & 0xFFFF_FFFF)"
            let target = 5 * 1024 + rng.below(15 * 1024)
            let text = Self.paragraphs(&rng, bytes: target / 3)
            let html = "<html><body>\r\n" + Self.paragraphs(&rng, bytes: target * 2 / 3)
                .components(separatedBy: "\r\n\r\n").map { "<p>\($0)</p>" }.joined(separator: "\r\n") + "\r\n</body></html>\r\n"
            header += "Subject: \(subject)\r\nContent-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n\r\n"
            let body = "--\(boundary)\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(text)\r\n"
                + "--\(boundary)\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\(html)\r\n--\(boundary)--\r\n"
            return Array(header.utf8) + Array(body.utf8)
        case .attachment:
            let boundary = "mix-\(index)-\(rng.next() & 0xFFFF_FFFF)"
            var blob = [UInt8](repeating: 0, count: 20 * 1024 + rng.below(180 * 1024))
            for i in stride(from: 0, to: blob.count, by: 8) {
                var word = rng.next()
                for j in i..<min(i + 8, blob.count) { blob[j] = UInt8(truncatingIfNeeded: word); word >>= 8 }
            }
            let base64 = Data(blob).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            header += "Subject: \(subject)\r\nContent-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\n"
            let body = "--\(boundary)\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + Self.paragraphs(&rng, bytes: 512 + rng.below(1024)) + "\r\n"
                + "--\(boundary)\r\nContent-Type: application/octet-stream; name=\"report-\(index).bin\"\r\n"
                + "Content-Disposition: attachment; filename=\"report-\(index).bin\"\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n\(base64)\r\n--\(boundary)--\r\n"
            return Array(header.utf8) + Array(body.utf8)
        case .latin1:
            // RFC 2047 §4: B (UTF-8) and Q (ISO-8859-1) encoded words, alternating.
            let title = "Grüße aus Zürich — Prüfung \(index)"
            let encoded = index % 2 == 0
                ? "=?UTF-8?B?\(Data(title.utf8).base64EncodedString())?="
                : "=?ISO-8859-1?Q?Gr=FC=DFe_aus_Z=FCrich_=96_Pr=FCfung_\(index)?="
            header += "Subject: \(encoded)\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                + "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            let text = "Sehr geehrte Damen und Herren,\r\n\r\nanbei die Übersicht für März; Größe und "
                + "Maße sind geprüft.\r\n\r\n" + Self.paragraphs(&rng, bytes: 800 + rng.below(2000))
                + "\r\nMit freundlichen Grüßen\r\nJürgen Müller\r\n"
            return Array(header.utf8) + Self.quotedPrintableLatin1(text)
        }
    }

    // MARK: Building blocks

    struct Person { let name: String, address: String }

    /// Some senders and recipients are the provisioned users, so delivery to users does real work.
    static let people: [Person] = [
        .init(name: "Alice Archer", address: "alice@acme.test"), .init(name: "Bob Baker", address: "bob@acme.test"),
        .init(name: "Peter Gibbons", address: "peter@initech.test"), .init(name: "Info", address: "info@initech.test"),
        .init(name: "Carol Chen", address: "carol@example.org"), .init(name: "Dave Dunn", address: "dave@example.net"),
        .init(name: "Erin Eck", address: "erin@example.com"), .init(name: "Frank Fox", address: "frank@example.org"),
    ]

    static let vocabulary = """
        account invoice meeting project schedule review quarter budget delivery customer order report update
        please thanks regarding attached follow draft contract team support request issue resolved pending
        tomorrow monday friday office shipment payment balance reminder question answer details summary
        """.split(whereSeparator: \.isWhitespace).map(String.init)

    static func words(_ rng: inout SplitMix64, count: Int) -> String {
        let list = (0..<count).map { _ in vocabulary[rng.below(vocabulary.count)] }
        return list.first!.capitalized + " " + list.dropFirst().joined(separator: " ")
    }

    /// Wrapped paragraphs of about `bytes` bytes, lines ≤ 72 characters, CRLF, blank line between.
    static func paragraphs(_ rng: inout SplitMix64, bytes: Int) -> String {
        var out = ""
        var line = ""
        var sentence = 0
        while out.utf8.count + line.utf8.count < bytes {
            var word = vocabulary[rng.below(vocabulary.count)]
            if sentence == 0 { word = word.capitalized }
            sentence += 1
            if sentence > 6 + rng.below(8) { word += "."; sentence = 0 }
            if line.utf8.count + word.utf8.count + 1 > 72 { out += line + "\r\n"; line = "" }
            line += line.isEmpty ? word : " " + word
            if sentence == 0 && rng.below(5) == 0 { out += line + "\r\n\r\n"; line = "" }
        }
        return out + line + "\r\n"
    }

    /// `text` in ISO-8859-1, quoted-printable (RFC 2045 §6.7); its lines are already short.
    static func quotedPrintableLatin1(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            let v = scalar.value == 0x2014 ? 0x96 : scalar.value  // em dash: not in Latin-1
            if v == 13 || v == 10 || (v >= 32 && v < 127 && v != 61) {
                out.append(UInt8(v))
            } else {
                let b = UInt8(truncatingIfNeeded: v)
                out += [UInt8(ascii: "="), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return out
    }

    static func rfc5322Date(_ date: Date) -> String {
        date.formatted(Date.VerbatimFormatStyle(
            format: "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) +0000",
            locale: Locale(identifier: "en_US_POSIX"), timeZone: TimeZone(identifier: "UTC")!, calendar: Calendar(identifier: .gregorian)))
    }
}

