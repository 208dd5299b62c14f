import CTLS
import MailCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension NetworkConnection {
    /// Resolves, checks every address with the outbound guard BEFORE connecting to it, connects
    /// (non-blocking connect + poll for connectTimeout, trying the resolved addresses in order),
    /// then does the TLS handshake when implicitTLS.
    ///
    /// The guard judges the addresses this resolution returned, which are exactly the addresses
    /// connected to: a resolver that answered differently earlier (DNS rebinding) changes nothing.
    /// Every address must pass before any is tried, as in `OutboundGuard.checkBeforeConnecting`
    /// (a name that also points inside the network is suspect). With `verifyTLS` false the policy
    /// must also allow unverified TLS for the address. Blocking: call it on an I/O thread.
    ///
    /// Throws `.hostRefused` (no connection attempted), `.connectFailed` (does not resolve,
    /// refused, unreachable), `.timeout` (connect plus handshake took longer than connectTimeout),
    /// `.tlsFailed`.
    static func connect(_ options: Options, outbound: OutboundGuard) throws(TransportError) -> NetworkConnection {
        let service = outbound.service
        let host = OutboundGuard.bareHost(options.host)
        guard (1...65535).contains(options.port), !host.isEmpty else {
            throw TransportError(.protocolError, detail: "invalid destination \(options.host):\(options.port)", service: service)
        }
        // The policy judges names as configured: the guard must be the one made for this host.
        guard host == outbound.host else {
            throw TransportError(.protocolError, detail: "the outbound guard was made for another host", service: service)
        }
        var deadline = IODeadline(options.connectTimeout)
        let addresses = try ResolvedAddress.resolve(host, port: options.port, service: service)
        for address in addresses {
            if let refusal = outbound.judge(address.ip, verifyingTLS: options.verifyTLS) { throw outbound.error(refusal) }
        }
        var lastFailure: String?
        for address in addresses {
            switch try openSocket(to: address, deadline: &deadline, service: service) {
            case .success(let fd):
                let connection = NetworkConnection(fd: fd, options: options, service: service)
                if options.implicitTLS {
                    connection.adopt(try TLSSession.handshake(fd: fd, options: options, deadline: deadline, service: service))
                }
                return connection
            case .failure(let reason):
                lastFailure = "\(address.ip): \(reason)"
            }
        }
        throw TransportError(.connectFailed, detail: "could not connect to \(host) port \(options.port): \(lastFailure ?? "no address")",
                             service: service)
    }

    private enum Attempt {
        case success(Int32)
        case failure(String)
    }

    /// One non-blocking connect, waited for within `deadline`. A refused or unreachable address
    /// is a failure (the next address is tried); running out of time throws `.timeout`.
    private static func openSocket(to address: ResolvedAddress, deadline: inout IODeadline,
                                   service: String) throws(TransportError) -> Attempt {
        let fd = address.newSocket()
        guard fd >= 0 else { return .failure("socket: \(systemError(errno))") }
        var keep = false
        defer { if !keep { closeDescriptor(fd) } }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
            return .failure("fcntl: \(systemError(errno))")
        }
        _ = mr_socket_nosigpipe(fd)
        // Commands are small writes answered at once: don't let Nagle hold them back.
        _ = mr_socket_nodelay(fd)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
        if address.startConnecting(fd) != 0 {
            guard errno == EINPROGRESS || errno == EINTR else { return .failure(systemError(errno)) }
            let limit = deadline.limit
            try deadline.wait(fd, for: Int32(POLLOUT), "connecting took longer than \(limit)", service: service)
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else {
                return .failure(systemError(errno))
            }
            guard failure == 0 else { return .failure(systemError(failure)) }
        }
        keep = true
        return .success(fd)
    }
}
