import CTLS
import Synchronization

/// One shared OpenSSL `SSL_CTX` per verification mode, created on first use and kept for the life
/// of the process. Configured once, then only passed to `SSL_new`, which OpenSSL allows from any
/// thread; hence `@unchecked Sendable`.
///
/// Every context: TLS 1.2 or later (RFC 8996 deprecates 1.0 and 1.1; RFC 8314 §4.1), partial and
/// moving-buffer writes for non-blocking `SSL_write`. A verifying context checks the chain against
/// the system store plus the trust's extra CA file; host names are checked per connection.
final class TLSContext: @unchecked Sendable {
    enum Mode: Hashable {
        /// No certificate checks: still encrypted, but not authenticated.
        case unverified
        case verified(TLSTrust)
    }

    let raw: OpaquePointer

    private static let shared = Mutex<[Mode: TLSContext]>([:])

    /// The context for `mode`, created under the lock the first time (a failure is not kept: the
    /// next connection tries again).
    static func shared(_ mode: Mode, service: String) throws(TransportError) -> TLSContext {
        try shared.withLock { (contexts) throws(TransportError) -> TLSContext in
            if let context = contexts[mode] { return context }
            let context = try TLSContext(mode, service: service)
            contexts[mode] = context
            return context
        }
    }

    private init(_ mode: Mode, service: String) throws(TransportError) {
        ERR_clear_error()
        guard let raw = SSL_CTX_new(TLS_client_method()) else {
            throw TLSContext.failure("creating the TLS context failed", service: service)
        }
        self.raw = raw
        guard mr_ssl_ctx_set_min_tls12(raw) == 1 else {
            throw TLSContext.failure("setting TLS 1.2 as the minimum failed", service: service)
        }
        mr_ssl_ctx_set_write_modes(raw)
        switch mode {
        case .unverified:
            SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nil)
        case .verified(let trust):
            SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nil)
            guard SSL_CTX_set_default_verify_paths(raw) == 1 else {
                throw TLSContext.failure("loading the system trust store failed", service: service)
            }
            if let file = trust.extraCAFile, SSL_CTX_load_verify_locations(raw, file, nil) != 1 {
                throw TLSContext.failure("cannot load \(TLSTrust.caFileVariable) \"\(file)\"", service: service)
            }
        }
    }

    deinit { SSL_CTX_free(raw) }

    /// `.tlsFailed` with `what` and the text of OpenSSL's error queue, which it empties.
    static func failure(_ what: String, service: String) -> TransportError {
        let queue = openSSLErrors()
        return TransportError(.tlsFailed, detail: queue.isEmpty ? what : "\(what): \(queue)", service: service)
    }

    /// The text of every error in this thread's OpenSSL error queue, oldest first; empties it.
    static func openSSLErrors() -> String {
        var texts: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            texts.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return texts.joined(separator: "; ")
    }
}
