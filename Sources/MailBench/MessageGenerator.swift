import MailTesting
import Foundation

/// Deterministic, realistic test messages: the same seed and count always give the same bytes.
///
/// Mix (by message index, spread evenly): ~60 % small plain text (1–4 KB), ~20 %
/// multipart/alternative with an HTML part (5–20 KB), ~15 % multipart/mixed with a 20–200 KB
/// binary attachment (base64), ~5 % non-ASCII (RFC 2047 encoded-word subjects, ISO-8859-1
/// quoted-printable bodies). CRLF line ends throughout, every line below 78 characters. Optionally a
/// share of the small text messages are delivery reports instead (`report(_:)`).
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

    // MARK: Delivery reports

    /// Positions within each 20 messages that become delivery reports, most spread first; all are
    /// `.plain` positions, so a report replaces a small text message of about its size and the mix's
    /// bytes barely change.
    static let reportPositions = [1, 4, 7, 10, 2, 5, 8, 11, 0, 3, 6, 9]

    /// The largest share of reports a corpus can hold (every plain position).
    static let maxReportShare = Double(reportPositions.count) / 20

    /// Whether message `index` of a corpus with `share` delivery reports is one (`share` in steps of
    /// 0.05, at most `maxReportShare`).
    func isReport(_ index: Int, share: Double) -> Bool {
        Self.reportPositions.prefix(Int((share * 20).rounded())).contains(index % 20)
    }

    /// The Message-ID (without brackets) of the outbound email that report `index` returns.
    static func outboundMessageID(_ index: Int) -> String { "bench-out-\(index)@acme.test" }

    /// The recipient report `index` says failed: a few dozen addresses, so many reports share one.
    static func bouncedRecipient(_ index: Int) -> String { "gone-\(index % 97)@example.net" }

    /// A delivery report as Postfix writes one (RFC 3464 `multipart/report; report-type=delivery-status`
    /// with the returned headers): every fourth a soft bounce (4.2.2, mailbox full), the others hard
    /// (5.1.1, unknown user).
    func report(_ index: Int) -> [UInt8] {
        let recipient = Self.bouncedRecipient(index)
        let (status, diagnostic) = index % 4 == 0
            ? ("4.2.2", "452 4.2.2 <\(recipient)>: Mailbox full")
            : ("5.1.1", "550 5.1.1 <\(recipient)>: Recipient address rejected: User unknown")
        let date = Self.rfc5322Date(Date(timeIntervalSince1970: 1_735_689_600 + Double(index) * 97))
        let boundary = "dsn-\(index).\(seed)/mx.remote.example"
        let lines = [
            "From: MAILER-DAEMON@mx.remote.example (Mail Delivery System)",
            "To: support@acme.test",
            "Subject: Undelivered Mail Returned to Sender",
            "Date: \(date)",
            "Message-ID: <bench-report-\(index)@mx.remote.example>",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;",
            "\tboundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Description: Notification",
            "Content-Type: text/plain; charset=us-ascii",
            "",
            "This is the mail system at host mx.remote.example.",
            "",
            "I'm sorry to have to inform you that your message could not",
            "be delivered to one or more recipients. It's attached below.",
            "",
            "<\(recipient)>: host mx.example.net[192.0.2.25] said: \(diagnostic)",
            "",
            "--\(boundary)",
            "Content-Description: Delivery report",
            "Content-Type: message/delivery-status",
            "",
            "Reporting-MTA: dns; mx.remote.example",
            "X-Postfix-Queue-ID: 4B\(String(index, radix: 16, uppercase: true))",
            "Arrival-Date: \(date)",
            "",
            "Final-Recipient: rfc822; \(recipient)",
            "Original-Recipient: rfc822;\(recipient)",
            "Action: failed",
            "Status: \(status)",
            "Remote-MTA: dns; mx.example.net",
            "Diagnostic-Code: smtp; \(diagnostic)",
            "",
            "--\(boundary)",
            "Content-Description: Undelivered Message Headers",
            "Content-Type: text/rfc822-headers",
            "",
            "From: Acme Support <support@acme.test>",
            "To: \(recipient)",
            "Subject: Re: your order",
            "Message-ID: <\(Self.outboundMessageID(index))>",
            "Date: \(date)",
            "",
            "--\(boundary)--",
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
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

