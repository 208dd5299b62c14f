#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailCore

/// One answer of `getaddrinfo`: the socket address to connect to and the IP address it holds,
/// which is what the outbound policy judges.
struct ResolvedAddress {
    let family: Int32
    let socketType: Int32
    let socketProtocol: Int32
    let ip: IPAddress
    /// The `sockaddr_in` / `sockaddr_in6` bytes, port included.
    let socketAddress: [UInt8]

    /// `getaddrinfo` for a TCP connection to `host`:`port`, answers in the resolver's order
    /// (RFC 6724 preference). Blocking: call it on an I/O thread. Throws `.connectFailed` when the
    /// name does not resolve.
    static func resolve(_ host: String, port: Int, service: String) throws(TransportError) -> [ResolvedAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(Glibc.SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            throw TransportError(.connectFailed, detail: "could not resolve \"\(host)\": \(String(cString: gai_strerror(status)))",
                                 service: service)
        }
        defer { freeaddrinfo(list) }
        var out: [ResolvedAddress] = []
        var next = list
        while let entry = next {
            next = entry.pointee.ai_next
            guard let sa = entry.pointee.ai_addr, let ip = IPAddress(socketAddress: sa) else { continue }
            let bytes = Array(UnsafeRawBufferPointer(start: sa, count: Int(entry.pointee.ai_addrlen)))
            out.append(ResolvedAddress(family: entry.pointee.ai_family, socketType: entry.pointee.ai_socktype,
                                       socketProtocol: entry.pointee.ai_protocol, ip: ip, socketAddress: bytes))
        }
        guard !out.isEmpty else {
            throw TransportError(.connectFailed, detail: "\"\(host)\" has no IPv4 or IPv6 address", service: service)
        }
        return out
    }

    /// A new socket for this address (`socket(2)`); -1 on failure.
    func newSocket() -> Int32 { socket(family, socketType, socketProtocol) }

    /// `connect(2)` of `fd` to this address: 0, or -1 with `errno` (`EINPROGRESS` when `fd` is
    /// non-blocking and the connection is under way).
    func startConnecting(_ fd: Int32) -> Int32 {
        socketAddress.withUnsafeBytes { raw in
            connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }
}

extension IPAddress {
    /// The address of an `AF_INET` / `AF_INET6` socket address; nil for other families.
    init?(socketAddress sa: UnsafePointer<sockaddr>) {
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            let raw = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            self.init(v4: UInt32(bigEndian: raw))
        case AF_INET6:
            var a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            self.init(bytes: withUnsafeBytes(of: &a) { Array($0) })
        default:
            return nil
        }
    }
}
