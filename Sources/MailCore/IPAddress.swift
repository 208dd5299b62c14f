#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its network-order bytes (4 or 16). Pure value: parsing and
/// classification do no I/O.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network byte order.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init(v4 value: UInt32) {
        bytes = [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// Parses an address literal the way the system resolver reads one, so that a host a server
    /// would connect to is judged as the address it becomes: IPv6 (optionally in brackets, with a
    /// `%zone` that is ignored) and IPv4 in every `inet_aton` form (`127.1`, `2130706433`,
    /// `0x7f.0.0.1`, `0177.0.0.1`). Nil for anything else (a host name).
    public init?(literal: String) {
        var text = Substring(literal)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if text.contains(":") {
            if let percent = text.firstIndex(of: "%") { text = text[..<percent] }
            guard let bytes = Self.parseIPv6(String(text)) else { return nil }
            self.init(bytes: bytes)
        } else {
            guard let value = Self.parseIPv4Loose(text) else { return nil }
            self.init(v4: value)
        }
    }

    /// Strict forms for configuration: four decimal parts (`10.0.0.1`) or IPv6 text.
    public init?(strict text: String) {
        if text.contains(":") {
            guard let bytes = Self.parseIPv6(text) else { return nil }
            self.init(bytes: bytes)
            return
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCIIDigit), let v = UInt8(p),
                p == "0" || !p.hasPrefix("0") else { return nil }
            out.append(v)
        }
        self.init(bytes: out)
    }

    /// The IPv4 address an IPv6 address carries (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
    /// `::a.b.c.d`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002:aabb:ccdd::/16`), else nil.
    public var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let b = bytes
        let zero10 = b[0..<10].allSatisfy { $0 == 0 }
        if zero10, b[10] == 0xff, b[11] == 0xff { return IPAddress(bytes: Array(b[12..<16])) }
        // IPv4-compatible (RFC 4291 §2.5.5.1, deprecated): everything but :: and ::1.
        if zero10, b[10] == 0, b[11] == 0, b[12..<15].contains(where: { $0 != 0 }) || b[15] > 1 {
            return IPAddress(bytes: Array(b[12..<16]))
        }
        // NAT64 well-known prefix (RFC 6052) and local-use prefix (RFC 8215).
        if b[0..<4] == [0x00, 0x64, 0xff, 0x9b], b[4..<12].allSatisfy({ $0 == 0 }) {
            return IPAddress(bytes: Array(b[12..<16]))
        }
        if b[0..<6] == [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01] { return IPAddress(bytes: Array(b[12..<16])) }
        // 6to4 (RFC 3056): 2002:V4ADDR::/48.
        if b[0] == 0x20, b[1] == 0x02 { return IPAddress(bytes: Array(b[2..<6])) }
        return nil
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }

    /// True when the first `prefix` bits equal those of `network` (same family).
    public func matches(_ network: IPAddress, prefix: Int) -> Bool {
        guard network.bytes.count == bytes.count else { return false }
        var remaining = prefix
        for i in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if bytes[i] & mask != network.bytes[i] & mask { return false }
            remaining -= bits
        }
        return true
    }

    // MARK: Parsing

    /// `inet_aton`: one to four parts, each decimal, octal (leading 0) or hex (0x); the last part
    /// fills the remaining bytes.
    static func parseIPv4Loose(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            guard !part.isEmpty else { return nil }
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") {
                let digits = lower.dropFirst(2)
                value = digits.isEmpty ? 0 : (digits.count <= 8 ? UInt64(digits, radix: 16) : nil)
            } else if lower.hasPrefix("0"), lower.count > 1 {
                value = lower.count <= 12 ? UInt64(lower.dropFirst(), radix: 8) : nil
            } else {
                value = lower.allSatisfy(\.isASCIIDigit) && lower.count <= 10 ? UInt64(lower) : nil
            }
            guard let value else { return nil }
            values.append(value)
        }
        let last = values.removeLast()
        guard values.allSatisfy({ $0 <= 0xff }) else { return nil }
        let lastBits = UInt64(8 * (4 - values.count))
        guard last < (UInt64(1) << lastBits) else { return nil }
        var result: UInt64 = 0
        for (i, v) in values.enumerated() { result |= v << UInt64(24 - 8 * i) }
        return UInt32(result | last)
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        var storage = in6_addr()
        let ok = text.withCString { inet_pton(AF_INET6, $0, &storage) }
        guard ok == 1 else { return nil }
        return withUnsafeBytes(of: &storage) { Array($0) }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
