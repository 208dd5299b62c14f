import CCurl
import MailCore
import MailProtocol

/// FOR BENCHMARKS ONLY: the way Mailroom fetched mail before it had its own IMAP client — libcurl,
/// one URL `imap://host/folder/;UID=n` per message on one reused handle — kept as the comparison
/// figure of `mailroom-bench ingest`. Never used to read real mail: libcurl's URL fetch sends
/// `UID FETCH n BODY[]`, which sets `\Seen`.
public final class CurlIMAPBaseline {
    private let handle: CurlEasyHandle
    private let base: String

    public init(endpoint: IMAPEndpoint) throws {
        let outbound = OutboundGuard(
            policy: endpoint.policy, host: endpoint.host,
            insecureUse: OutboundPolicy.insecureUse(tls: endpoint.security != .none, verifyTLS: endpoint.verifyTLS,
                                                    sendsPassword: true),
            resolver: endpoint.resolver, service: "IMAP")
        try outbound.checkBeforeConnecting()
        handle = try CurlEasyHandle(outbound: outbound)
        let host = endpoint.host.contains(":") && !endpoint.host.hasPrefix("[") ? "[\(endpoint.host)]" : endpoint.host
        base = "\(endpoint.security == .tls ? "imaps" : "imap")://\(host):\(endpoint.port)/"
        try handle.set(CURLOPT_PROTOCOLS_STR, "imap,imaps")
        try handle.set(CURLOPT_NOSIGNAL, 1)
        try handle.set(CURLOPT_USERNAME, endpoint.username)
        try handle.set(CURLOPT_PASSWORD, endpoint.password.value)
        try handle.setSecurityAndTimeouts(endpoint.security, verifyTLS: endpoint.verifyTLS, caFile: endpoint.policy.caFile,
                                          connectTimeout: endpoint.connectTimeout, ioTimeout: endpoint.ioTimeout)
    }

    /// Fetches each UID of `folder` by its own URL; returns the messages and bytes received.
    /// `folder` must be a plain ASCII name without URL syntax (the benchmark uses INBOX).
    public func fetchEach(folder: String, uids: [UID]) throws -> (count: Int, bytes: Int) {
        var bytes = 0
        for uid in uids {
            let transfer = CurlTransfer(limit: Int.max)
            try handle.set(CURLOPT_URL, "\(base)\(folder)/;UID=\(uid.rawValue)")
            let (code, message) = handle.perform(transfer)
            guard code == CURLE_OK else {
                throw TransportError(.protocolError, curlCode: Int(code.rawValue), detail: "baseline fetch of UID \(uid): \(message)")
            }
            bytes += transfer.body.count
        }
        return (uids.count, bytes)
    }
}
