/// Header-bound values (subjects, names, addresses, Message-IDs, file names) as one line.
///
/// The database refuses a line break in every header-bound column (migrations/0008_security.sql), so
/// a value that would start a new header when composed again can never be stored. Mail arrives with
/// such values all the same: an encoded word that decodes to CR LF, a folded Message-ID, a NUL. The
/// importer stores them unfolded instead of refusing the message.
public enum HeaderLine {
    /// Each run of CR and LF becomes one space and NUL bytes are dropped; anything else is kept.
    public static func unfold(_ value: String) -> String {
        let utf8 = value.utf8
        guard utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else { return value }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count)
        var inBreak = false
        for b in utf8 {
            if b == 0 { continue }
            if b == 13 || b == 10 {
                if !inBreak { out.append(32) }
                inBreak = true
            } else {
                out.append(b)
                inBreak = false
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
