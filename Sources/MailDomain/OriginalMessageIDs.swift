/// Collects the Message-IDs that may name the email a report answers, most trustworthy first (see
/// `DeliveryReport.originalMessageIDs`), without angle brackets, each once.
struct OriginalMessageIDs {
    private(set) var ids: [String] = []
    /// The report's own id, never a candidate.
    let own: String?

    init(own: String?) { self.own = own.flatMap(Self.bare) }

    mutating func add(_ id: String?) {
        guard let id, !id.isEmpty, id != own, !ids.contains(id) else { return }
        ids.append(id)
    }

    /// The Message-ID field of a returned message or header block (`message/rfc822`, `text/rfc822-headers`).
    mutating func addFromHeaderBlock(_ bytes: [UInt8]) {
        var previous: String?
        for line in String(decoding: bytes.prefix(64 * 1024), as: UTF8.self).lines() {
            if line.isEmpty { break }  // end of the header
            if line.first == " " || line.first == "\t" {
                previous? += " " + line.trimmingSpaces()
                continue
            }
            if let field = previous { addIfMessageID(field) }
            previous = String(line)
        }
        if let field = previous { addIfMessageID(field) }
    }

    private mutating func addIfMessageID(_ field: String) {
        guard let colon = field.firstIndex(of: ":"), HeaderName.equal(String(field[..<colon]).trimmingSpaces(), "message-id")
        else { return }
        add(Self.bare(String(field[field.index(after: colon)...])))
    }

    /// Ids written in a text (`Message-ID: <...>` lines of a plain-text bounce, quoted or indented).
    mutating func addFromText(_ text: String) {
        for raw in text.lines() {
            let line = raw.drop { $0 == " " || $0 == "\t" || $0 == ">" }
            guard line.count > 11 else { continue }
            let lower = line.prefix(24).lowercased()
            guard lower.hasPrefix("message-id:") || lower.hasPrefix("message id:") || lower.hasPrefix("original message id:")
            else { continue }
            add(Self.bare(String(line[line.index(after: line.firstIndex(of: ":")!)...])))
        }
    }

    /// The id between the first `<` and the following `>`, else the trimmed value; nil when empty or spaced.
    static func bare(_ value: String) -> String? {
        if let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            let id = value[value.index(after: open)..<close].trimmingSpaces()
            return id.isEmpty || id.contains(" ") ? nil : id
        }
        let id = value.trimmingSpaces()
        return id.isEmpty || id.contains(" ") || !id.contains("@") ? nil : id
    }
}
