/// A connected byte stream: TCP, optionally TLS. Not Sendable; used on one thread (the
/// connection's `IOThread`). Every wait is bounded by the stream's timeouts: nothing blocks forever.
protocol ByteStream: AnyObject {
    /// Sends all of `bytes`, waiting at most the I/O timeout for the socket to accept more (the
    /// timeout restarts whenever bytes are accepted). Throws `TransportError` (`.timeout`,
    /// `.connectionLost`).
    func write(_ bytes: [UInt8]) throws(TransportError)

    /// Waits at most the I/O timeout for data and appends what is available, at most `max` bytes
    /// (`max` > 0), to `buffer`. Returns how many bytes were appended; 0 means the peer closed the
    /// connection (clean EOF / TLS close_notify). Throws `.timeout`, `.connectionLost` (also for a
    /// TLS stream cut without close_notify, RFC 8446 §6.1), `.tlsFailed`.
    func read(into buffer: inout [UInt8], max: Int) throws(TransportError) -> Int

    /// Upgrades this plain connection to TLS in place (after IMAP STARTTLS, RFC 3501 §6.2.1 /
    /// RFC 2595), verifying as configured; the handshake is bounded by the connect timeout.
    /// The caller must have consumed the server's response up to its CRLF and nothing more; bytes
    /// the server sent after it, before the handshake, are refused as a plaintext injection
    /// (RFC 2595 §3.1, "discard cached information"). Throws `.tlsFailed`, `.timeout`.
    func startTLS() throws(TransportError)

    var isTLS: Bool { get }

    /// Closes (TLS close_notify best effort, then the socket). Idempotent; also done in deinit.
    /// Reads and writes after `close` throw `.connectionLost`.
    func close()
}
