/// How mailbox names travel on one connection: in modified UTF-7 (RFC 3501 §5.1.3), or as UTF-8
/// once the client has enabled `UTF8=ACCEPT` (RFC 6855 §3: the server then takes and sends names
/// in UTF-8, and a name such as `A&B` is no longer an escape).
public enum MailboxNameEncoding: Sendable, Equatable {
    case modifiedUTF7
    case utf8

    /// `name` as a quoted string for a command line (§4.3: `\` and `"` escaped). Control characters,
    /// which no mailbox name may hold, are dropped rather than corrupting the line; with `.utf8`,
    /// non-ASCII characters travel as they are.
    public func quoted(_ name: String) -> String {
        switch self {
        case .modifiedUTF7:
            return IMAPCommand.quoted(ModifiedUTF7.encode(name))
        case .utf8:
            var out = "\""
            for scalar in name.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F {
                if scalar == "\\" || scalar == "\"" { out.append("\\") }
                out.unicodeScalars.append(scalar)
            }
            return out + "\""
        }
    }

    /// A name as the server sent it, decoded.
    public func decode(_ wire: String) throws -> String {
        switch self {
        case .modifiedUTF7: return try ModifiedUTF7.decode(wire)
        case .utf8: return wire
        }
    }
}
