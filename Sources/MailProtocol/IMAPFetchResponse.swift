import MailCore

/// One `* n FETCH (…)` response (RFC 3501 §7.4.2), items in any order, as `IMAPResponseFramer`
/// delivers it: body literals it streamed appear as `%k` atoms naming the k-th streamed body.
public struct IMAPFetchResponse: Sendable, Equatable {
    /// One body item: its section (`""` for `BODY[]`, `HEADER` for `BODY[HEADER]`) and where its
    /// octets are.
    public struct Body: Sendable, Equatable {
        public enum Content: Sendable, Equatable {
            /// The k-th literal the framer streamed for this response.
            case streamed(Int)
            /// Sent inline: a quoted string, a small literal, or `NIL` (nil).
            case inline([UInt8]?)
        }
        public var section: String
        public var content: Content
    }

    /// The message sequence number (not a UID).
    public var sequenceNumber: UInt32
    public var uid: UID?
    public var flags: [String]?
    public var bodies: [Body]

    /// Parses a FETCH response; nil when `response` is another kind of response.
    public init?(_ response: IMAPResponse) throws(IMAPProtocolError) {
        guard response.dataName == "FETCH" else { return nil }
        guard response.values.count >= 3, let number = response.values[0].number,
            let sequence = UInt32(exactly: number), let items = response.values[2].list
        else { throw IMAPProtocolError(.malformed, "FETCH without a sequence number or attribute list") }
        sequenceNumber = sequence
        uid = nil
        flags = nil
        bodies = []
        var index = 0
        while index < items.count {
            guard let name = items[index].atom?.uppercased() else {
                throw IMAPProtocolError(.malformed, "FETCH item name is not an atom")
            }
            index += 1
            var section: String?
            if index < items.count, case .section(let parts) = items[index] {
                section = parts.map(Self.sectionText).joined(separator: " ")
                index += 1
                if index < items.count, let origin = items[index].atom, origin.hasPrefix("<") { index += 1 }
            }
            guard index < items.count else { throw IMAPProtocolError(.malformed, "FETCH item \(name) without a value") }
            let value = items[index]
            index += 1
            switch name {
            case "UID":
                guard let raw = value.number.flatMap({ UInt32(exactly: $0) }), raw > 0 else {
                    throw IMAPProtocolError(.malformed, "bad UID in FETCH")
                }
                uid = UID(raw)
            case "FLAGS":
                guard let list = value.list else { throw IMAPProtocolError(.malformed, "FLAGS is not a list") }
                flags = list.compactMap(\.atom)
            case "BODY", "BINARY", "RFC822", "RFC822.HEADER", "RFC822.TEXT":
                // `BODY (…)` without a section is BODYSTRUCTURE's short form, not content.
                guard name != "BODY" || section != nil else { continue }
                let sectionName = section ?? (name == "RFC822.HEADER" ? "HEADER" : name == "RFC822.TEXT" ? "TEXT" : "")
                if let atom = value.atom, atom.hasPrefix("%"), let k = Int(atom.dropFirst()) {
                    bodies.append(Body(section: sectionName, content: .streamed(k)))
                } else if case .string(let bytes) = value {
                    bodies.append(Body(section: sectionName, content: .inline(bytes)))
                } else {
                    bodies.append(Body(section: sectionName, content: .inline(nil)))
                }
            default:
                break
            }
        }
    }

    private static func sectionText(_ value: IMAPValue) -> String {
        switch value {
        case .atom(let text): return text.uppercased()
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .list(let values): return "(" + values.map(sectionText).joined(separator: " ") + ")"
        case .section(let values): return "[" + values.map(sectionText).joined(separator: " ") + "]"
        }
    }
}
