/// Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3).
///
/// Printable US-ASCII except `&` stands for itself; `&` is written `&-`; every other run of
/// characters is written `&` + modified BASE64 (`,` instead of `/`, no padding) of its UTF-16BE
/// form + `-`.
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ name: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            out.append(UInt8(ascii: "&"))
            out += base64(pending.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
            out.append(UInt8(ascii: "-"))
            pending.removeAll()
        }
        for unit in name.utf16 {
            if unit >= 0x20 && unit <= 0x7E {
                flush()
                out.append(UInt8(unit))
                if unit == 0x26 { out.append(UInt8(ascii: "-")) }  // "&" is written "&-"
            } else {
                pending.append(unit)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a name from the wire. Throws `.malformed` on a bad shift sequence; bytes that are not
    /// printable ASCII are passed through as UTF-8, since some servers send raw UTF-8 names.
    public static func decode(_ wire: String) throws -> String {
        let bytes = Array(wire.utf8)
        var out = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "&") else {
                let start = index
                while index < bytes.count && bytes[index] != UInt8(ascii: "&") { index += 1 }
                out += String(decoding: bytes[start..<index], as: UTF8.self)
                continue
            }
            guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "-")) else {
                throw IMAPProtocolError(.malformed, "unterminated '&' in mailbox name")
            }
            if close == index + 1 {
                out += "&"
            } else {
                let decoded = try unbase64(Array(bytes[(index + 1)..<close]))
                guard decoded.count % 2 == 0 else {
                    throw IMAPProtocolError(.malformed, "odd UTF-16 length in mailbox name")
                }
                let units = stride(from: 0, to: decoded.count, by: 2).map {
                    UInt16(decoded[$0]) << 8 | UInt16(decoded[$0 + 1])
                }
                guard let text = String(validating: units, as: UTF16.self) else {
                    throw IMAPProtocolError(.malformed, "invalid UTF-16 in mailbox name")
                }
                out += text
            }
            index = close + 1
        }
        return out
    }

    private static func base64(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < data.count {
            let chunk = data[index..<min(index + 3, data.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            let characters = chunk.count + 1  // 1 byte → 2 chars, 2 → 3, 3 → 4
            for position in 0..<characters { out.append(alphabet[Int((value >> (18 - 6 * position)) & 0x3F)]) }
            index += 3
        }
        return out
    }

    private static func unbase64(_ text: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text {
            guard let value = alphabet.firstIndex(of: character) else {
                throw IMAPProtocolError(.malformed, "bad character in modified BASE64")
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}
