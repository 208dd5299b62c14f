/// What kind of destination an IP address is, for the outbound host policy. Everything but
/// `.global` stays inside a machine or an operator's network and is refused unless the operator
/// allows it.
public enum AddressClass: String, Sendable, CaseIterable {
    case global
    /// 127.0.0.0/8, ::1.
    case loopback
    /// 169.254.0.0/16 (cloud metadata services live here), fe80::/10.
    case linkLocal = "link-local"
    /// RFC 1918 10/8, 172.16/12, 192.168/16; site-local fec0::/10.
    case `private`
    /// RFC 6598 carrier-grade NAT 100.64.0.0/10.
    case shared
    /// fc00::/7 (RFC 4193).
    case uniqueLocal = "unique-local"
    /// 224.0.0.0/4, ff00::/8.
    case multicast
    /// 0.0.0.0/8 ("this network") and `::`.
    case unspecified
    /// 255.255.255.255.
    case broadcast
    /// Documentation, benchmarking, protocol-assignment, future-use and other special-purpose
    /// ranges (RFC 6890), and IPv6 outside global unicast 2000::/3.
    case reserved

    /// The class of `address`. IPv4 carried in IPv6 (mapped, compatible, NAT64, 6to4) is judged by
    /// the IPv4 address it carries.
    public init(_ address: IPAddress) {
        if let v4 = address.embeddedIPv4 {
            self = AddressClass(v4)
            return
        }
        let b = address.bytes
        if address.isIPv4 {
            self = Self.classifyV4(b)
        } else {
            self = Self.classifyV6(b)
        }
    }

    private static func classifyV4(_ b: [UInt8]) -> AddressClass {
        switch (b[0], b[1], b[2]) {
        case (0, _, _): return .unspecified
        case (10, _, _): return .private
        case (100, 64...127, _): return .shared
        case (127, _, _): return .loopback
        case (169, 254, _): return .linkLocal
        case (172, 16...31, _): return .private
        case (192, 168, _): return .private
        case (192, 0, 0), (192, 0, 2), (192, 88, 99), (198, 51, 100), (203, 0, 113): return .reserved
        case (198, 18...19, _): return .reserved
        case (224...239, _, _): return .multicast
        case (255, 255, 255) where b[3] == 255: return .broadcast
        case (240...255, _, _): return .reserved
        default: return .global
        }
    }

    private static func classifyV6(_ b: [UInt8]) -> AddressClass {
        if b.allSatisfy({ $0 == 0 }) { return .unspecified }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .loopback }
        if b[0] == 0xff { return .multicast }
        if b[0] & 0xfe == 0xfc { return .uniqueLocal }
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return .linkLocal }
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return .private }
        // Only 2000::/3 is global unicast; inside it, documentation 2001:db8::/32, Teredo 2001::/32
        // (carries an obfuscated IPv4) and ORCHIDv2 2001:20::/28 are special-purpose.
        guard b[0] & 0xe0 == 0x20 else { return .reserved }
        if b[0] == 0x20, b[1] == 0x01 {
            if b[2] == 0x0d, b[3] == 0xb8 { return .reserved }
            if b[2] == 0, b[3] == 0 { return .reserved }
            if b[2] == 0, b[3] & 0xf0 == 0x20 { return .reserved }
        }
        return .global
    }
}
