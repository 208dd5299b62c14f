/// A command as the client writes it (RFC 3501 §2.2.1, §4.3): text parts and literals, turned into
/// wire segments by `segments(tag:literals:)`.
///
/// The text parts must already be valid IMAP syntax (quoted strings from `IMAPCommand`); literals
/// carry any octets (a message for APPEND, a password that cannot be quoted).
public struct IMAPCommandLine: Sendable {
    public enum Part: Sendable {
        case text(String)
        case literal([UInt8])
    }

    /// How the server lets a client send literals.
    public enum LiteralMode: Sendable, Equatable {
        /// RFC 3501 §7.5: after `{n}` CRLF, wait for the server's `+` before the octets.
        case synchronizing
        /// RFC 7888 LITERAL+: `{n+}`, sent at once, whatever the size.
        case plus
        /// RFC 7888 LITERAL-: `{n+}` for literals of at most 4096 octets, synchronizing above.
        case minus

        /// The mode a capability list allows.
        public init(capabilities: Set<String>) {
            self = capabilities.contains("LITERAL+") ? .plus : capabilities.contains("LITERAL-") ? .minus : .synchronizing
        }

        func nonSynchronizing(_ length: Int) -> Bool {
            switch self {
            case .synchronizing: return false
            case .plus: return true
            case .minus: return length <= 4096
            }
        }
    }

    /// One write: its octets, and whether the server must first send a continuation request.
    public struct Segment: Sendable, Equatable {
        public var bytes: [UInt8]
        public var awaitsContinuation: Bool
    }

    public var parts: [Part]

    public init(_ parts: [Part]) { self.parts = parts }

    public init(_ text: String) { parts = [.text(text)] }

    /// The verb and what follows it, up to the first literal, for error texts. Commands whose text
    /// holds a secret (LOGIN) must not be described this way; `IMAPClient` names them itself.
    public var summary: String {
        guard case .text(let text) = parts.first else { return "" }
        return String(text.prefix(60))
    }

    /// The wire segments: `tag SP parts… CRLF`; each synchronizing literal starts a new segment
    /// that waits for a continuation request.
    public func segments(tag: String, literals mode: LiteralMode) -> [Segment] {
        var segments: [Segment] = []
        var current = Array("\(tag) ".utf8)
        var awaits = false
        for part in parts {
            switch part {
            case .text(let text):
                current.append(contentsOf: text.utf8)
            case .literal(let bytes):
                let plus = mode.nonSynchronizing(bytes.count)
                current.append(contentsOf: "{\(bytes.count)\(plus ? "+" : "")}\r\n".utf8)
                if !plus {
                    segments.append(Segment(bytes: current, awaitsContinuation: awaits))
                    current = []
                    awaits = true
                }
                current.append(contentsOf: bytes)
            }
        }
        current.append(contentsOf: [13, 10])
        segments.append(Segment(bytes: current, awaitsContinuation: awaits))
        return segments
    }
}
