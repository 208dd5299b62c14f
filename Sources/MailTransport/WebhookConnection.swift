import CCurl
import Foundation
import MailCore

/// A webhook receiver and the limits of talking to it. The URL is judged by the outbound policy
/// like every destination: HTTPS with a verified certificate to a global address, unless the
/// operator lists the host in `MAILROOM_ALLOWED_HOSTS` (a private or loopback address) and, for
/// plain `http://`, in `MAILROOM_INSECURE_HOSTS`.
public struct WebhookTarget: Sendable {
    public var url: String
    public var policy: OutboundPolicy
    public var resolver: HostResolver
    public var connectTimeout: Duration
    /// The whole request, connect included: a hanging receiver holds a worker slot no longer.
    public var totalTimeout: Duration
    /// Largest answer read (headers and body); a receiver has nothing to say beyond its status.
    public var maxResponseBytes: Int

    public init(url: String, policy: OutboundPolicy, resolver: HostResolver = .system, connectTimeout: Duration = .seconds(5),
                totalTimeout: Duration = .seconds(15), maxResponseBytes: Int = 64 * 1024) {
        self.url = url
        self.policy = policy
        self.resolver = resolver
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// The URL's host (brackets of an IPv6 literal removed) and whether it speaks TLS; throws
    /// `protocolError` for anything but an absolute http(s) URL without credentials.
    public static func parse(_ url: String) throws(TransportError) -> (host: String, tls: Bool) {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = parts.host, !host.isEmpty,
              parts.user == nil, parts.password == nil, parts.fragment == nil else {
            throw TransportError(.protocolError, detail: "not an absolute http(s) URL without credentials", service: "webhook")
        }
        return (OutboundGuard.bareHost(host), scheme == "https")
    }

    /// The policy's verdict before any connection: the scheme, and every address the host resolves
    /// to (blocking: resolves the name). Throws `hostRefused` naming the host and the rule.
    public func check() throws(TransportError) {
        _ = try makeGuard().checkBeforeConnecting()
    }

    func makeGuard() throws(TransportError) -> OutboundGuard {
        let (host, tls) = try Self.parse(url)
        return OutboundGuard(policy: policy, host: host, insecureUse: tls ? nil : .plainHTTP, resolver: resolver, service: "webhook")
    }
}

/// A webhook POST's outcome: the receiver's status (redirects are not followed, so a 3xx is the
/// answer itself).
public struct WebhookAnswer: Sendable, Equatable {
    public var status: Int
    public var isAcknowledgement: Bool { (200..<300).contains(status) }
    public init(status: Int) { self.status = status }
}

/// One libcurl handle POSTing to one receiver; successive POSTs reuse its connection. Blocking, and
/// used by one thread at a time (an `IOThread`): hence the unchecked `Sendable`. Every socket it
/// opens passes the outbound policy's socket-time check (DNS rebinding after `WebhookTarget.check`
/// is refused there). Errors name the host and what failed, never a header or the body.
public final class WebhookConnection: @unchecked Sendable {
    private let handle: CurlEasyHandle
    private let target: WebhookTarget
    private let host: String

    public init(_ target: WebhookTarget) throws(TransportError) {
        let outbound = try target.makeGuard()
        self.target = target
        host = outbound.host
        do {
            handle = try CurlEasyHandle(outbound: outbound)
            try handle.set(CURLOPT_URL, target.url)
            try handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try handle.set(CURLOPT_FOLLOWLOCATION, 0)
            try handle.set(CURLOPT_NOSIGNAL, 1)
            try handle.set(CURLOPT_POST, 1)
            try handle.setVerification(true, caFile: target.policy.caFile)
            try handle.set(CURLOPT_CONNECTTIMEOUT_MS, max(1, milliseconds(target.connectTimeout)))
            try handle.set(CURLOPT_TIMEOUT_MS, max(1, milliseconds(target.totalTimeout)))
        } catch let e as TransportError { throw e } catch {
            throw TransportError(.protocolError, detail: "libcurl could not be set up", service: "webhook")
        }
        try outbound.checkBeforeConnecting()
    }

    /// POSTs `body` with `headers` (`Name: value` lines; `Expect:` is always sent empty, as a
    /// receiver need not know 100-continue).
    public func post(_ body: String, headers: [String]) throws(TransportError) -> WebhookAnswer {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in headers + ["Expect:"] { list = mr_curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }
        do {
            try handle.set(CURLOPT_POSTFIELDSIZE, body.utf8.count)
            try handle.set(CURLOPT_COPYPOSTFIELDS, body)
        } catch let e as TransportError { throw e } catch {
            throw TransportError(.protocolError, detail: "libcurl could not be set up", service: "webhook")
        }
        _ = mr_curl_setopt_slist(handle.raw, CURLOPT_HTTPHEADER, list)
        let transfer = CurlTransfer(limit: target.maxResponseBytes)
        let (code, _) = handle.perform(transfer)
        _ = mr_curl_setopt_slist(handle.raw, CURLOPT_HTTPHEADER, nil)
        if let refused = handle.outboundGuard.takeRefusal(), code == CURLE_COULDNT_CONNECT { throw refused }
        guard code == CURLE_OK else {
            if transfer.exceededLimit {
                throw TransportError(.responseTooLarge, detail: "\(host) answered more than \(target.maxResponseBytes) bytes",
                                     service: "webhook")
            }
            if code == CURLE_OPERATION_TIMEDOUT {
                throw TransportError(.timeout, curlCode: Int(code.rawValue),
                                     detail: "\(host) did not answer within \(milliseconds(target.totalTimeout)) ms", service: "webhook")
            }
            let kind = CurlEasyHandle.transportKind(code) ?? .connectionLost
            throw TransportError(kind, curlCode: Int(code.rawValue), detail: "\(host) could not be reached", service: "webhook")
        }
        return WebhookAnswer(status: handle.info(CURLINFO_RESPONSE_CODE))
    }
}
