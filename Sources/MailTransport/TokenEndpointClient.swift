import CCurl
import Foundation
import MailCore

/// An OAuth 2.0 endpoint (token, device authorization, revocation) and how to reach it: through the
/// outbound host policy like every connection, HTTPS with a verified certificate unless the operator
/// lists the host in `MAILROOM_INSECURE_HOSTS` (test token servers on loopback speak plain HTTP).
public struct OAuthEndpoint: Sendable {
    public var url: String
    public var policy: OutboundPolicy
    public var resolver: HostResolver
    public var connectTimeout: Duration
    public var ioTimeout: Duration

    public init(url: String, policy: OutboundPolicy, resolver: HostResolver = .system,
                connectTimeout: Duration = .seconds(10), ioTimeout: Duration = .seconds(20)) {
        self.url = url
        self.policy = policy
        self.resolver = resolver
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
    }
}

/// An HTTP answer as the OAuth layer needs it (`OAuthTokenAnswer.interpret` reads it).
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var contentType: String?
    public var retryAfter: String?
    public var body: [UInt8]
}

/// POSTs forms to OAuth endpoints with libcurl. Blocking: call it on an I/O thread, never on the
/// cooperative pool. Secrets in the form (client secret, refresh token, code verifier) never appear in
/// an error: errors name the endpoint's host and what failed.
public enum OAuthHTTP {
    /// Largest answer read; a token answer is a few kilobytes. Past it the transfer stops (an error).
    public static let maxAnswerBytes = 256 * 1024

    public static func postForm(_ endpoint: OAuthEndpoint, _ form: [(String, String)]) throws(TransportError) -> HTTPAnswer {
        guard let url = URLComponents(string: endpoint.url), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
            throw TransportError(.protocolError, detail: "OAuth endpoint is not an http(s) URL", service: "OAuth")
        }
        // The form carries secrets: plain HTTP is an insecure use, allowed only for listed hosts.
        let outbound = OutboundGuard(
            policy: endpoint.policy, host: host,
            insecureUse: OutboundPolicy.insecureUse(tls: scheme == "https", verifyTLS: true, sendsPassword: true),
            resolver: endpoint.resolver, service: "OAuth")
        let handle: CurlEasyHandle
        do { handle = try CurlEasyHandle(outbound: outbound) } catch let e as TransportError { throw e } catch {
            throw TransportError(.protocolError, detail: "libcurl could not be set up", service: "OAuth")
        }
        let body = encode(form)
        var headers: UnsafeMutablePointer<curl_slist>?
        headers = mr_curl_slist_append(headers, "Accept: application/json")
        headers = mr_curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded")
        defer { curl_slist_free_all(headers) }
        do {
            try handle.set(CURLOPT_URL, endpoint.url)
            try handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try handle.set(CURLOPT_FOLLOWLOCATION, 0)
            try handle.set(CURLOPT_NOSIGNAL, 1)
            try handle.set(CURLOPT_POSTFIELDSIZE, body.count)
            try handle.set(CURLOPT_COPYPOSTFIELDS, body)
            _ = mr_curl_setopt_slist(handle.raw, CURLOPT_HTTPHEADER, headers)
            try handle.setVerification(true, caFile: endpoint.policy.caFile)
            try handle.set(CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(endpoint.connectTimeout.components.seconds * 1000)))
            try handle.set(CURLOPT_TIMEOUT_MS, max(1, Int((endpoint.connectTimeout + endpoint.ioTimeout).components.seconds * 1000)))
        } catch let e as TransportError { throw e } catch {
            throw TransportError(.protocolError, detail: "libcurl could not be set up", service: "OAuth")
        }
        try outbound.checkBeforeConnecting()
        let transfer = CurlTransfer(limit: maxAnswerBytes)
        let (code, _) = handle.perform(transfer)
        if let refused = outbound.takeRefusal(), code == CURLE_COULDNT_CONNECT { throw refused }
        guard code == CURLE_OK else {
            if transfer.exceededLimit {
                throw TransportError(.responseTooLarge, detail: "OAuth endpoint \(host) answered more than \(maxAnswerBytes) bytes", service: "OAuth")
            }
            let kind = CurlEasyHandle.transportKind(code) ?? .connectionLost
            throw TransportError(kind, curlCode: Int(code.rawValue), detail: "OAuth endpoint \(host) could not be reached", service: "OAuth")
        }
        let fields = lastHeaderBlock(transfer.header)
        return HTTPAnswer(status: handle.info(CURLINFO_RESPONSE_CODE), contentType: fields["content-type"],
                          retryAfter: fields["retry-after"], body: transfer.body)
    }

    /// `application/x-www-form-urlencoded` (WHATWG URL §5.2): unreserved bytes as they are, space as
    /// `+`, everything else percent-encoded.
    static func encode(_ form: [(String, String)]) -> String {
        func escape(_ s: String) -> String {
            var out = ""
            for byte in s.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                case UInt8(ascii: " "):
                    out += "+"
                default:
                    out += String(format: "%%%02X", byte)
                }
            }
            return out
        }
        return form.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// Header fields of the final response (after any `100 Continue`), names lower-cased.
    static func lastHeaderBlock(_ raw: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for line in String(decoding: raw, as: UTF8.self).split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if line.hasPrefix("HTTP/") { fields = [:]; continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}
