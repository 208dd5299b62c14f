/// Builders for the arguments of commands a client writes (RFC 3501 §4, §9).
public enum IMAPCommand {
    /// A mailbox name as a quoted string: modified UTF-7 (§5.1.3), then `\` and `"` escaped (§4.3).
    /// The result is printable ASCII, safe in a command line.
    public static func quotedMailbox(_ name: String) -> String {
        MailboxNameEncoding.modifiedUTF7.quoted(name)
    }

    /// A quoted string of printable ASCII. Characters a quoted string cannot carry (CR, LF, NUL,
    /// non-ASCII) are the caller's to avoid; they are dropped here rather than corrupting the line.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars where scalar.value >= 0x20 && scalar.value < 0x7F {
            if scalar == "\\" || scalar == "\"" { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }

    /// A flag list for STORE/APPEND: `(\Seen $Label1)`. Flags must be atoms (RFC 3501 §9 `flag`);
    /// returns nil if one is not.
    public static func flagList(_ flags: [String]) -> String? {
        for flag in flags {
            let body = flag.hasPrefix("\\") ? flag.dropFirst() : Substring(flag)
            let atomSpecials = Set("(){ %*\"\\]")
            guard !body.isEmpty, body.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
                !body.contains(where: { atomSpecials.contains($0) })
            else { return nil }
        }
        return "(" + flags.joined(separator: " ") + ")"
    }
}
