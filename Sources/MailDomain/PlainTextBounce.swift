import Foundation

/// Reads the non-standard, plain-text bounces that many systems still send (or send beside an RFC 3464
/// part that lacks details): qmail, Exim, Haraka, Sendmail, Postfix's notification text, Exchange /
/// Microsoft 365, Gmail, Yahoo and Amazon SES. Only asked when the sender already looks automatic, so a
/// person quoting a bounce is never read as one.
struct PlainTextBounce {
    /// Phrases (lower-cased) that identify each sender's text, checked in this order.
    static let formats: [(format: String, markers: [String])] = [
        ("qmail", ["this is the qmail-send program", "qmail-send program at"]),
        ("exim", ["this message was created automatically by mail delivery software"]),
        ("sendmail", ["the following addresses had permanent fatal errors", "the following addresses had transient non-fatal errors",
                      "----- transcript of session follows -----"]),
        ("exchange", ["delivery has failed to these recipients or groups", "couldn't be delivered",
                      "did not reach some or all of the intended recipients", "delivery is delayed to these recipients",
                      "diagnostic information for administrators", "remote server returned '"]),
        ("gmail", ["delivery to the following recipient failed permanently", "delivery to the following recipient has been delayed",
                   "your message wasn't delivered to", "there was a problem delivering your message to", "address not found"]),
        ("yahoo", ["sorry, we were unable to deliver your message to the following address"]),
        ("amazon-ses", ["an error occurred while trying to deliver the mail to the following recipients"]),
        ("postfix", ["this is the mail system at host", "this is the postfix program at host"]),
    ]

    /// Subjects (lower-cased) of bounces whose text matches no known form; read as `generic`.
    static let subjectMarkers = [
        "undeliverable", "undelivered mail", "delivery status notification", "mail delivery failed", "failure notice",
        "returned mail", "delivery failure", "nicht zustellbar", "non remis", "no se puede entregar",
    ]

    /// Phrases that say the message is still queued, not given up.
    static let delayMarkers = [
        "has not yet been delivered", "has been delayed", "transient non-fatal errors", "could not send message for past",
        "will continue to try", "will keep trying", "will retry", "delivery delayed", "delivery is delayed",
        "hasn't been delivered yet",
    ]

    /// Where the returned copy of the original message begins: addresses after it are the sender's or
    /// those of the original's other recipients, not failures.
    static let copyMarkers = [
        "below this line is a copy of the message", "this is a copy of the message", "original message headers",
        "----- original message", "message header follows", "the header of the original message", "original message follows",
        "------ this is a copy of", "--- below this line",
    ]

    let text: String
    let lower: String
    let format: String

    /// Nil unless `text` carries one of the known formats' phrases.
    init?(text: String, subject: String?, input: DeliveryReportInput) {
        let lower = text.lowercased()
        let subjectLower = subject?.lowercased() ?? ""
        guard var format = Self.formats.first(where: { $0.markers.contains(where: lower.contains) })?.format
            ?? (Self.subjectMarkers.contains(where: subjectLower.contains) ? "generic" : nil)
        else { return nil }
        // Haraka words its bounce as Exim does; its Received line names it (`Haraka ... invoked for bounce`).
        if format == "exim", input.headers(named: "received").contains(where: { $0.lowercased().contains("haraka") }) {
            format = "haraka"
        }
        let cut = Self.copyMarkers.compactMap { text.range(of: $0, options: .caseInsensitive)?.lowerBound }.min()
        self.text = cut.map { String(text[..<$0]) } ?? text
        self.lower = self.text.lowercased()
        self.format = format
    }

    /// The recipients the text names; `listed` (X-Failed-Recipients) replaces the text's own list when given.
    func recipients(excluding ours: Set<String>, listed: [String]) -> [DeliveryReport.Recipient] {
        let addresses = listed.isEmpty ? Self.addresses(in: text).filter { !ours.contains($0) } : listed
        let action: DeliveryReport.Action = Self.delayMarkers.contains(where: lower.contains) ? .delayed : .failed
        let paragraphs = Self.paragraphs(text)
        let fallback = Self.diagnostic(paragraphs: paragraphs, near: nil)
        return addresses.map { address in
            let diagnostic = Self.diagnostic(paragraphs: paragraphs, near: address) ?? fallback
            let status = diagnostic.flatMap(EnhancedStatus.first(in:)) ?? EnhancedStatus.first(in: text)
            return DeliveryReport.Recipient(address: address, action: action, status: status, diagnostic: diagnostic, classify: true)
        }
    }

    static let addressPattern = try! NSRegularExpression(pattern: "[A-Za-z0-9._%+'=-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+")

    /// Mail addresses in order of appearance, lower-cased, each once, without daemon addresses.
    static func addresses(in text: String) -> [String] {
        var seen: [String] = []
        for match in addressPattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let range = Range(match.range, in: text) else { continue }
            let address = text[range].trimmingCharacters(in: CharacterSet(charactersIn: ".'")).lowercased()
            let local = address.split(separator: "@").first.map(String.init) ?? ""
            if !AutomaticMail.daemonLocalParts.contains(local), !seen.contains(address) { seen.append(address) }
        }
        return seen
    }

    static func paragraphs(_ text: String) -> [String] {
        var result: [String] = []
        var current: [Substring] = []
        for line in text.lines() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if !current.isEmpty { result.append(current.joined(separator: "\n")); current = [] }
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { result.append(current.joined(separator: "\n")) }
        return result
    }

    /// The explanation for `address`: Exchange's `Remote Server returned '...'`; else the first paragraph
    /// from the one naming the address on (at most three on) that carries an SMTP code; nil when none.
    /// With `address` nil, the first paragraph of the text that carries a code.
    static func diagnostic(paragraphs: [String], near address: String?) -> String? {
        func hasCode(_ p: String) -> Bool { EnhancedStatus.first(in: p) != nil || EnhancedStatus.basicCode(in: p) != nil }
        var candidates = paragraphs.indices[...]
        if let address {
            guard let start = paragraphs.firstIndex(where: { $0.lowercased().contains(address) }) else { return nil }
            candidates = paragraphs.indices[start..<min(paragraphs.count, start + 4)]
        }
        for index in candidates {
            var paragraph = paragraphs[index]
            // Lines above the one naming the address are a heading (Sendmail's `----- The following ...`).
            if let address {
                let lines = paragraph.lines()
                if let first = lines.firstIndex(where: { $0.lowercased().contains(address) }), first > 0 {
                    paragraph = lines[first...].joined(separator: "\n")
                }
            }
            if let quoted = remoteServerReturned(paragraph) { return quoted }
            if hasCode(paragraph) { return withoutAddressPrefix(paragraph, address) }
        }
        return nil
    }

    /// Exchange: `Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; ...'`.
    static func remoteServerReturned(_ paragraph: String) -> String? {
        guard let start = paragraph.range(of: "Remote Server returned '", options: .caseInsensitive) else { return nil }
        let rest = paragraph[start.upperBound...]
        let end = rest.lastIndex(of: "'") ?? rest.endIndex
        return String(rest[..<end]).trimmingCharacters(in: CharacterSet(charactersIn: "<>#").union(.whitespaces))
    }

    /// `<a@b>: host x said: 550 ...` → `host x said: 550 ...` (qmail, Postfix, Yahoo start with the address).
    static func withoutAddressPrefix(_ paragraph: String, _ address: String?) -> String {
        let trimmed = paragraph.trimmingSpaces()
        guard let address, let colon = trimmed.firstIndex(of: ":"),
              trimmed[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "<> ")).lowercased() == address
        else { return trimmed }
        return trimmed[trimmed.index(after: colon)...].trimmingSpaces()
    }
}
