import CTLS
import MailCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The TLS state of one connection: an OpenSSL `SSL*` over the connection's non-blocking socket,
/// freed in `deinit`. `SSL_ERROR_WANT_READ` / `WANT_WRITE` become a `poll` in that direction;
/// reads always ask OpenSSL first, so bytes it already holds (`SSL_pending`) never wait for the
/// socket. The socket stays the connection's: this type never closes it.
final class TLSSession {
    private let ssl: OpaquePointer
    /// The connection's socket (not owned).
    private let fd: Int32
    private let verifying: Bool
    private let service: String
    /// Set after a fatal error: OpenSSL then forbids `SSL_shutdown`.
    private var failed = false
    /// Set once `SSL_connect` succeeded (OpenSSL's own "in init" state also covers post-handshake
    /// messages such as TLS 1.3 session tickets, read later).
    private var established = false

    /// The socket BIO with `MSG_NOSIGNAL` writes, one method table for the process: created once
    /// (a lazy global is initialised exactly once), then only read by OpenSSL.
    nonisolated(unsafe) private static let socketMethod: OpaquePointer? = mr_bio_method_new()

    private init(ssl: OpaquePointer, fd: Int32, verifying: Bool, service: String) {
        self.ssl = ssl
        self.fd = fd
        self.verifying = verifying
        self.service = service
    }

    deinit { SSL_free(ssl) }

    /// Runs the client handshake on the connected socket `fd` within `deadline`: SNI for host
    /// names (RFC 6066 §3 forbids it for address literals), and with `verifyTLS` the chain plus the
    /// host name (RFC 6125) or the address literal against the certificate's IP SANs.
    static func handshake(fd: Int32, options: NetworkConnection.Options, deadline: IODeadline,
                          service: String) throws(TransportError) -> TLSSession {
        let mode: TLSContext.Mode = options.verifyTLS ? .verified(options.trust) : .unverified
        let context = try TLSContext.shared(mode, service: service)
        ERR_clear_error()
        guard let method = socketMethod, let ssl = SSL_new(context.raw) else {
            throw TLSContext.failure("creating the TLS connection failed", service: service)
        }
        let session = TLSSession(ssl: ssl, fd: fd, verifying: options.verifyTLS, service: service)
        guard let bio = mr_bio_new_socket(method, fd) else {
            throw TLSContext.failure("creating the socket BIO failed", service: service)
        }
        SSL_set_bio(ssl, bio, bio)
        try session.identify(OutboundGuard.bareHost(options.host), verify: options.verifyTLS)
        var deadline = deadline
        let limit = deadline.limit
        _ = try session.drive(deadline: &deadline, restartOnProgress: false,
                              timeout: "the TLS handshake did not finish within the connect timeout (\(limit))") {
            SSL_connect(ssl)
        }
        session.established = true
        return session
    }

    private func identify(_ host: String, verify: Bool) throws(TransportError) {
        let literal = IPAddress(literal: host)
        if literal == nil, mr_ssl_set_sni(ssl, host) != 1 {
            throw TLSContext.failure("setting the server name failed", service: service)
        }
        guard verify else { return }
        if let literal {
            let ok = literal.bytes.withUnsafeBufferPointer { X509_VERIFY_PARAM_set1_ip(SSL_get0_param(ssl), $0.baseAddress, $0.count) }
            guard ok == 1 else { throw TLSContext.failure("setting the expected IP address failed", service: service) }
        } else {
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard SSL_set1_host(ssl, host) == 1 else {
                throw TLSContext.failure("setting the expected host name failed", service: service)
            }
        }
    }

    /// Reads at most `room.count` decrypted bytes; 0 after the peer's close_notify.
    func read(into room: UnsafeMutableRawBufferPointer, deadline: inout IODeadline) throws(TransportError) -> Int {
        var count = 0
        let limit = deadline.limit
        let ok = try drive(deadline: &deadline, restartOnProgress: true, timeout: "no byte arrived for \(limit)") {
            SSL_read_ex(ssl, room.baseAddress, room.count, &count)
        }
        return ok ? count : 0
    }

    /// Reads at most `room.count` decrypted bytes without waiting: nil when OpenSSL holds none and
    /// the socket has no complete record (`SSL_ERROR_WANT_READ`), 0 after the peer's close_notify.
    /// Call again until nil: OpenSSL may hold decrypted bytes beyond one read (`SSL_pending`),
    /// which no socket readiness would announce.
    func readAvailable(into room: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int? {
        ERR_clear_error()
        errno = 0
        var count = 0
        let result = SSL_read_ex(ssl, room.baseAddress, room.count, &count)
        if result > 0 { return count }
        let reason = SSL_get_error(ssl, result)
        switch reason {
        // WANT_WRITE while reading only happens mid-renegotiation (not in TLS 1.3); the next
        // readiness retries it.
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return nil
        case SSL_ERROR_ZERO_RETURN: return 0
        default:
            failed = true
            throw failure(reason)
        }
    }

    /// Writes some of `bytes` (a partial write when the socket takes less); returns how many.
    func write(_ bytes: UnsafeRawBufferPointer, deadline: inout IODeadline) throws(TransportError) -> Int {
        var count = 0
        let limit = deadline.limit
        let ok = try drive(deadline: &deadline, restartOnProgress: true, timeout: "no byte could be sent for \(limit)") {
            SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &count)
        }
        guard ok else { throw TransportError(.connectionLost, detail: "the server closed the TLS connection", service: service) }
        return count
    }

    /// Sends close_notify once, without waiting for the socket or for the peer's answer (best
    /// effort, RFC 8446 §6.1 lets the closing side not wait).
    func closeNotify() {
        guard !failed else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Calls `operation` until it succeeds (true), the peer closed with close_notify (false), or
    /// it fails (throws). Waits on the socket of the SSL object's BIO in the direction OpenSSL
    /// asks; with `restartOnProgress` every time the socket becomes ready restarts the deadline
    /// (the I/O timeout counts time without progress).
    private func drive(deadline: inout IODeadline, restartOnProgress: Bool, timeout: @autoclosure () -> String,
                       _ operation: () -> Int32) throws(TransportError) -> Bool {
        while true {
            ERR_clear_error()
            errno = 0
            let result = operation()
            if result > 0 { return true }
            let reason = SSL_get_error(ssl, result)
            switch reason {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let events = reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT
                try deadline.wait(fd, for: Int32(events), timeout(), service: service)
                if restartOnProgress { deadline.restart() }
            case SSL_ERROR_ZERO_RETURN:
                return false
            default:
                failed = true
                throw failure(reason)
            }
        }
    }

    /// The error for a failed SSL call: the certificate check's verdict when it refused the peer,
    /// a lost connection when the socket failed or the peer vanished without close_notify, else
    /// OpenSSL's error text.
    private func failure(_ reason: Int32) -> TransportError {
        let handshaking = !established
        let verdict = SSL_get_verify_result(ssl)
        if verifying, handshaking, reason == SSL_ERROR_SSL, verdict != X509_V_OK {
            ERR_clear_error()
            let text = String(cString: X509_verify_cert_error_string(verdict))
            return TransportError(.tlsFailed, detail: "certificate verify failed: \(text)", service: service)
        }
        let unexpectedEOF = mr_err_reason(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING
        if reason == SSL_ERROR_SYSCALL || unexpectedEOF {
            let cause = errno != 0 ? systemError(errno) : "closed without TLS close_notify"
            ERR_clear_error()
            if handshaking {
                return TransportError(.tlsFailed, detail: "the connection failed during the TLS handshake: \(cause)",
                                      service: service)
            }
            return TransportError(.connectionLost, detail: "the TLS connection broke: \(cause)", service: service)
        }
        return TLSContext.failure(handshaking ? "TLS handshake failed" : "TLS failed", service: service)
    }
}
