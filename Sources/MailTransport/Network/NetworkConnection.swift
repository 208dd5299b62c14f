import CTLS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP connection of the IMAP client, plain or TLS (implicit, RFC 8314, or upgraded by
/// STARTTLS), on a non-blocking socket: every wait is a `poll(2)` bounded by the remaining time of
/// a timeout, so no call blocks longer than the connect or I/O timeout.
///
/// Owns its socket and TLS state and frees them in `close` (also called by `deinit`). Not Sendable:
/// create and use it on one `IOThread`. A peer that closed the connection never raises SIGPIPE:
/// every send uses `MSG_NOSIGNAL` (TLS too, through its own socket BIO).
final class NetworkConnection: ByteStream {
    struct Options {
        /// A host name or an address literal (IPv6 in brackets or not).
        var host: String
        var port: Int
        /// TLS from the first byte (IMAPS on 993); otherwise plain until `startTLS()`.
        var implicitTLS: Bool
        /// Check the certificate chain and the host name. When false the connection is still
        /// encrypted but anyone on the path can read it; the outbound policy must allow that for
        /// the address (`MAILROOM_INSECURE_HOSTS`), which `connect` checks.
        var verifyTLS: Bool
        /// Limit for TCP connect (all addresses) plus the TLS handshake; also bounds the
        /// handshake of `startTLS()`.
        var connectTimeout: Duration
        /// Longest a read or write waits without any byte moving.
        var ioTimeout: Duration
        /// Certificates trusted besides the system store when `verifyTLS` is true.
        var trust = TLSTrust()
    }

    let options: Options
    /// `IMAP` or `SMTP`, for errors: the outbound guard's service.
    let service: String
    /// -1 once closed.
    private(set) var fd: Int32
    private var tls: TLSSession?
    /// Where `read` receives; one read returns at most this much.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    var isTLS: Bool { tls != nil }

    /// Takes ownership of `fd`, a connected non-blocking socket.
    init(fd: Int32, options: Options, service: String) {
        self.fd = fd
        self.options = options
        self.service = service
    }

    deinit {
        close()
        scratch.deallocate()
    }

    func write(_ bytes: [UInt8]) throws(TransportError) {
        var deadline = IODeadline(options.ioTimeout)
        var offset = 0
        while offset < bytes.count {
            var sent = Result<Int, TransportError>.success(0)
            bytes.withUnsafeBytes { all in
                let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
                sent = Result { () throws(TransportError) in
                    if let tls { return try tls.write(rest, deadline: &deadline) }
                    return try sendPlain(rest, deadline: &deadline)
                }
            }
            offset += try sent.get()
            deadline.restart()
        }
    }

    func read(into buffer: inout [UInt8], max: Int) throws(TransportError) -> Int {
        precondition(max > 0, "read needs room for at least one byte")
        _ = try openDescriptor()
        var deadline = IODeadline(options.ioTimeout)
        // Received into a buffer kept for the connection's life, then appended: growing `buffer`
        // by `max` zeroes first would cost O(max) per call whatever arrives (and byte by byte in a
        // debug build).
        let room = UnsafeMutableRawBufferPointer(rebasing: scratch[..<Swift.min(max, scratch.count)])
        let count: Int
        if let tls {
            count = try tls.read(into: room, deadline: &deadline)
        } else {
            count = try receivePlain(into: room, deadline: &deadline)
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: room[..<count]))
        return count
    }

    /// Appends what can be read right now, at most `max` bytes, without waiting: nil when nothing
    /// is available, 0 when the peer closed the connection. For event loops that learnt from
    /// epoll that the socket is readable; with TLS, call again until nil (see
    /// `TLSSession.readAvailable`).
    func readAvailable(into buffer: inout [UInt8], max: Int) throws(TransportError) -> Int? {
        precondition(max > 0, "read needs room for at least one byte")
        let fd = try openDescriptor()
        let room = UnsafeMutableRawBufferPointer(rebasing: scratch[..<Swift.min(max, scratch.count)])
        let count: Int
        if let tls {
            guard let read = try tls.readAvailable(into: room) else { return nil }
            count = read
        } else {
            while true {
                let received = recv(fd, room.baseAddress!, room.count, 0)
                if received >= 0 {
                    count = received
                    break
                }
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return nil
                default:
                    throw TransportError(.connectionLost, detail: "receive failed: \(systemError(errno))", service: service)
                }
            }
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: room[..<count]))
        return count
    }

    func startTLS() throws(TransportError) {
        let fd = try openDescriptor()
        guard tls == nil else { throw TransportError(.tlsFailed, detail: "the connection already uses TLS", service: service) }
        try refuseBytesBeforeHandshake()
        tls = try TLSSession.handshake(fd: fd, options: options, deadline: IODeadline(options.connectTimeout),
                                       service: service)
    }

    func close() {
        guard fd >= 0 else { return }
        tls?.closeNotify()
        tls = nil
        closeDescriptor(fd)
        fd = -1
    }

    /// Makes this connection speak TLS from now on (implicit TLS, right after connecting).
    func adopt(_ session: TLSSession) { tls = session }

    // MARK: Plain TCP

    private func openDescriptor() throws(TransportError) -> Int32 {
        guard fd >= 0 else { throw TransportError(.connectionLost, detail: "the connection was closed", service: service) }
        return fd
    }

    private func sendPlain(_ bytes: UnsafeRawBufferPointer, deadline: inout IODeadline) throws(TransportError) -> Int {
        try retryingPlain(Int32(POLLOUT), "send", idle: "no byte could be sent", deadline: &deadline) {
            mr_send_nosignal($0, bytes.baseAddress!, bytes.count)
        }
    }

    private func receivePlain(into room: UnsafeMutableRawBufferPointer, deadline: inout IODeadline) throws(TransportError) -> Int {
        try retryingPlain(Int32(POLLIN), "receive", idle: "no byte arrived", deadline: &deadline) {
            recv($0, room.baseAddress!, room.count, 0)
        }
    }

    /// Calls `operation` (a non-blocking send or receive on the socket) until it moves bytes or
    /// reports the end, waiting for `events` when the socket is not ready; `idle` describes a
    /// timeout.
    private func retryingPlain(_ events: Int32, _ verb: String, idle: String, deadline: inout IODeadline,
                               _ operation: (Int32) -> Int) throws(TransportError) -> Int {
        let fd = try openDescriptor()
        while true {
            let moved = operation(fd)
            if moved >= 0 { return moved }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                try deadline.wait(fd, for: events, "\(idle) for \(deadline.limit)", service: service)
            default:
                throw TransportError(.connectionLost, detail: "\(verb) failed: \(systemError(errno))", service: service)
            }
        }
    }

    /// Before a STARTTLS handshake the server must wait for the client's hello: anything already
    /// readable was sent in clear text after the server's response, where an attacker on the path
    /// could have injected it (the STARTTLS command-injection flaw, CVE-2011-0411 / CVE-2021-33515).
    private func refuseBytesBeforeHandshake() throws(TransportError) {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return }
        var probe: UInt8 = 0
        let peeked = recv(fd, &probe, 1, Int32(MSG_PEEK))
        if peeked > 0 {
            throw TransportError(.tlsFailed, detail: "the server sent data before the TLS handshake", service: service)
        }
        if peeked == 0 {
            throw TransportError(.connectionLost, detail: "the server closed the connection before the TLS handshake",
                                 service: service)
        }
    }
}
