import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailCore

/// Resolves a host name to addresses before connecting, for the early check of the outbound
/// policy. Tests inject their own to simulate DNS rebinding (the answer here differs from the one
/// libcurl gets later, which the socket-time check catches).
public struct HostResolver: Sendable {
    public var addresses: @Sendable (String) -> [IPAddress]

    public init(_ addresses: @escaping @Sendable (String) -> [IPAddress]) { self.addresses = addresses }

    /// `getaddrinfo` (blocking: call it on an I/O thread). An empty answer when the name does not
    /// resolve: libcurl then reports the failure itself.
    public static let system = HostResolver { host in
        var hints = addrinfo()
        hints.ai_socktype = Int32(Glibc.SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var out: [IPAddress] = []
        var next = list
        while let entry = next {
            if let sa = entry.pointee.ai_addr, let address = IPAddress(socketAddress: sa) { out.append(address) }
            next = entry.pointee.ai_next
        }
        return out
    }
}

/// The outbound policy applied to one connection's configuration: a check before connecting and a
/// check of the exact address of every socket opened, by libcurl (its socket callback, see
/// `installOutboundGuard`) or by `NetworkConnection.connect`. For libcurl it is owned by the
/// session's `CurlEasyHandle` (the callback reaches it through `CURLOPT_OPENSOCKETDATA`); used on
/// one thread.
final class OutboundGuard {
    let policy: OutboundPolicy
    /// The host as configured (a name or an address literal, brackets removed).
    let host: String
    let insecureUse: OutboundPolicy.InsecureUse?
    let resolver: HostResolver
    let service: String
    /// What the socket-time check last refused; read after a failed transfer.
    var refusal: HostRefusal?

    init(policy: OutboundPolicy, host: String, insecureUse: OutboundPolicy.InsecureUse?, resolver: HostResolver,
         service: String) {
        self.policy = policy
        self.host = Self.bareHost(host)
        self.insecureUse = insecureUse
        self.resolver = resolver
        self.service = service
    }

    /// The early check: resolves the host and refuses when any of its addresses is refused (a
    /// name that also points inside the network is suspect), or when an insecure connection is
    /// not allowed for it. Throws `TransportError.hostRefused`; a name that does not resolve is
    /// left for libcurl to report.
    func checkBeforeConnecting() throws(TransportError) {
        let addresses = IPAddress(literal: host).map { [$0] } ?? resolver.addresses(host)
        for address in addresses {
            if let refusal = judge(address) { throw error(refusal) }
        }
        if addresses.isEmpty, let use = insecureUse,
            let refusal = policy.insecureRefusal(host: host, address: nil, use: use) {
            throw error(refusal)
        }
    }

    /// The socket-time check of the exact address about to be connected to.
    func judge(_ address: IPAddress) -> HostRefusal? {
        if let refusal = policy.refusal(host: host, address: address) { return refusal }
        if let use = insecureUse { return policy.insecureRefusal(host: host, address: address, use: use) }
        return nil
    }

    /// `judge(address)` for a connection that may speak TLS without verifying it: then unverified
    /// TLS must be allowed for the address even when the guard was made without naming that use.
    func judge(_ address: IPAddress, verifyingTLS: Bool) -> HostRefusal? {
        if let refusal = judge(address) { return refusal }
        guard !verifyingTLS, insecureUse == nil else { return nil }
        return policy.insecureRefusal(host: host, address: address, use: .unverifiedTLS)
    }

    /// `host` without the brackets of an IPv6 literal (`[::1]` → `::1`).
    static func bareHost(_ host: String) -> String {
        var bare = Substring(host)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        return String(bare)
    }

    func error(_ refusal: HostRefusal) -> TransportError {
        TransportError(.hostRefused, detail: refusal.description, service: service)
    }

    /// The error for a failed transfer when the socket check refused its connection, else nil.
    /// Clears the record for the next transfer.
    func takeRefusal() -> TransportError? {
        defer { refusal = nil }
        return refusal.map(error)
    }
}

extension CurlEasyHandle {
    /// Makes every connection of this handle pass its `outboundGuard` first: libcurl asks
    /// `CURLOPT_OPENSOCKETFUNCTION` for each socket, with the address it will connect to, whatever
    /// its own resolution answered (this defeats DNS rebinding after the early check). Proxies are
    /// disabled, so the address checked is the server's.
    func installOutboundGuard() throws {
        try set(CURLOPT_PROXY, "")
        let code = mr_curl_setopt_opensocket(raw, curlOpenSocket)
        guard code == CURLE_OK else {
            throw TransportError(.protocolError, curlCode: Int(code.rawValue), detail: "setting the socket callback failed")
        }
        try set(CURLOPT_OPENSOCKETDATA, pointer: Unmanaged.passUnretained(outboundGuard).toOpaque())
    }
}

/// Non-capturing: the guard arrives through `CURLOPT_OPENSOCKETDATA`; the handle keeps it alive.
private func curlOpenSocket(_ context: UnsafeMutableRawPointer?, _ purpose: curlsocktype,
                            _ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
    guard let context else { return mr_curl_socket_bad() }
    let gate = Unmanaged<OutboundGuard>.fromOpaque(context).takeUnretainedValue()
    var bytes = [UInt8](repeating: 0, count: 16)
    let length = Int(mr_curl_sockaddr_ip(address, &bytes))
    guard let ip = IPAddress(bytes: Array(bytes.prefix(length))) else {
        gate.refusal = HostRefusal(host: gate.host, rule: "not an IP address")
        return mr_curl_socket_bad()
    }
    if let refusal = gate.judge(ip) {
        gate.refusal = refusal
        return mr_curl_socket_bad()
    }
    return mr_curl_open_socket(address)
}
