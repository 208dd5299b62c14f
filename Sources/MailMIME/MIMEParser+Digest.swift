import CGMime

extension MIMEParser {
    /// The header fields whose values identify a message across mailboxes.
    static let digestFields = ["Date", "From", "To", "Cc", "Subject"]

    /// A stable lower-case hex SHA-256 identifying a message's content, for synthesising a
    /// Message-ID when the message has none.
    ///
    /// Input: the first value of each of Date, From, To, Cc, Subject (as parsed: unfolded, decoded;
    /// an absent field counts as empty), then the raw bytes after the header block with CRLF
    /// normalised to LF. Transport headers (Received, Delivered-To, Return-Path …) are left out, so
    /// one message delivered to two mailboxes gets the same digest.
    public static func contentDigest(_ message: ParsedMessage, raw: [UInt8]) -> String {
        var input: [UInt8] = []
        input.reserveCapacity(raw.count + 512)
        for field in digestFields {
            input += Array(field.utf8) + [UInt8(ascii: ":")]
            input += Array((message.header(field) ?? "").utf8) + [UInt8(ascii: "\n")]
        }
        input.append(UInt8(ascii: "\n"))
        var previousWasCR = false
        for byte in raw[bodyStart(raw)...] {
            if previousWasCR && byte != UInt8(ascii: "\n") { input.append(UInt8(ascii: "\r")) }
            previousWasCR = byte == UInt8(ascii: "\r")
            if !previousWasCR { input.append(byte) }
        }
        if previousWasCR { input.append(UInt8(ascii: "\r")) }

        let checksum = g_checksum_new(G_CHECKSUM_SHA256)
        defer { g_checksum_free(checksum) }
        input.withUnsafeBufferPointer { g_checksum_update(checksum, $0.baseAddress, $0.count) }
        // The string belongs to the checksum and is freed with it.
        return String(cString: g_checksum_get_string(checksum))
    }

    /// The index just after the blank line that ends the header block (RFC 5322 §2.1), or the end
    /// of the input when there is none (a header-only message).
    static func bodyStart(_ raw: [UInt8]) -> Int {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var index = 0
        while index < raw.count {
            guard raw[index] == lf else { index += 1; continue }
            var next = index + 1
            if next < raw.count && raw[next] == cr { next += 1 }
            if next < raw.count && raw[next] == lf { return next + 1 }
            if next == raw.count { return raw.count }
            index += 1
        }
        return raw.count
    }
}
