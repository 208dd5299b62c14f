import Foundation

/// The fields of a `message/delivery-status` body (RFC 3464 §2): one per-message block, then one block per
/// recipient, blocks separated by blank lines, each a list of header-style fields (continuation lines
/// unfolded, names lower-cased).
struct DSNFields {
    typealias Block = [(name: String, value: String)]

    var perMessage: Block
    var perRecipient: [Block]

    init(_ bytes: [UInt8]) {
        var blocks: [Block] = []
        var current: Block = []
        for line in String(decoding: bytes, as: UTF8.self).lines() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {
                if !current.isEmpty { blocks.append(current); current = [] }
            } else if line.first == " " || line.first == "\t" {
                // RFC 5322 §2.2.3 folding, as in message headers.
                if !current.isEmpty { current[current.count - 1].value += " " + line.trimmingSpaces() }
            } else if let colon = line.firstIndex(of: ":") {
                current.append((line[..<colon].trimmingSpaces().lowercased(), line[line.index(after: colon)...].trimmingSpaces()))
            }
        }
        if !current.isEmpty { blocks.append(current) }
        // The per-message block comes first; a report without one (seen in the wild) starts with a recipient.
        if let first = blocks.first, !Self.isRecipientBlock(first) {
            perMessage = first
            perRecipient = blocks.dropFirst().filter(Self.isRecipientBlock)
        } else {
            perMessage = []
            perRecipient = blocks.filter(Self.isRecipientBlock)
        }
    }

    static func isRecipientBlock(_ block: Block) -> Bool {
        block.contains { $0.name == "final-recipient" || $0.name == "original-recipient" }
    }

    /// The recipients the report names, in its order.
    var recipients: [DeliveryReport.Recipient] {
        perRecipient.compactMap { block in
            func field(_ name: String) -> String? { block.first { $0.name == name }?.value }
            // The address we sent to is the Original-Recipient (ORCPT); the Final-Recipient may be an
            // alias expansion. Only `rfc822` addresses are mail addresses (RFC 3464 §2.3.1).
            guard let address = [field("original-recipient"), field("final-recipient")].compactMap({ $0.flatMap(Self.rfc822Address) }).first
            else { return nil }
            let diagnostic = field("diagnostic-code").map(Self.withoutTypePrefix)
            let status = field("status").flatMap(EnhancedStatus.first(in:)) ?? diagnostic.flatMap(EnhancedStatus.first(in:))
            let action = field("action").flatMap { DeliveryReport.Action(rawValue: $0.split(separator: " ").first.map(String.init)?.lowercased() ?? "") }
                ?? EnhancedStatus.impliedAction(status)
            return DeliveryReport.Recipient(address: address, action: action, status: status, diagnostic: diagnostic, classify: true)
        }
    }

    /// `rfc822; <Someone@Example.test>` → `someone@example.test`; nil for other address types.
    static func rfc822Address(_ value: String) -> String? {
        let parts = value.split(separator: ";", maxSplits: 1)
        let (type, raw) = parts.count == 2 ? (parts[0].trimmingSpaces().lowercased(), parts[1]) : ("rfc822", parts.first ?? "")
        guard type == "rfc822" else { return nil }
        let address = raw.trimmingSpaces().trimmingCharacters(in: ["<", ">"]).lowercased()
        return address.contains("@") ? address : nil
    }

    /// `smtp; 550 5.1.1 ...` → `550 5.1.1 ...` (the diagnostic type, RFC 3464 §2.3.6).
    static func withoutTypePrefix(_ value: String) -> String {
        let parts = value.split(separator: ";", maxSplits: 1)
        guard parts.count == 2, parts[0].count <= 12, !parts[0].contains(" ") else { return value }
        return parts[1].trimmingSpaces()
    }
}

extension StringProtocol {
    /// The lines, empty ones kept. Splits on any line end: Swift reads CRLF as one `Character`, so a
    /// split on "\n" alone would leave CRLF text (as IMAP delivers it) in one piece.
    func lines() -> [SubSequence] {
        split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// Without leading and trailing spaces, tabs and line ends (no Foundation bridging).
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
