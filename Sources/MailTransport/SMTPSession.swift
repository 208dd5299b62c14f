import CCurl
import Foundation
import MailCore
import MailIO

/// Submits messages over SMTP with libcurl: one `CURL*` handle whose connection libcurl keeps open
/// between messages (each `send` is one MAIL FROM / RCPT TO / DATA transaction).
///
/// Not Sendable and every method blocks: create and use a session on one `IOThread`.
///
/// How libcurl's SMTP support shapes this type:
/// - Messages must have CRLF line ends: libcurl dot-stuffs only those, and with LF-only input a line
///   holding a single `.` would end the message early (`MessageComposer` writes CRLF).
/// - With STARTTLS libcurl skips AUTH silently when the server does not offer it, and without
///   `CURLUSESSL_ALL` it would talk in clear text: TLS is always required unless `.none`.
/// - One refused recipient aborts the transaction (no `CURLOPT_MAIL_RCPT_ALLOWFAILS`): the message
///   goes to all recipients or to none, so a retry never delivers twice to the accepted ones.
/// - Every line the server sent reaches the header callback: the last 4xx/5xx line there is the
///   server's reason, kept (password scrubbed) in the error.
public final class SMTPSession {
    public let endpoint: SMTPEndpoint
    let handle: CurlEasyHandle
    /// The last server reply line of the last transfer, for callers that log acceptance.
    public private(set) var lastReply: String?
    /// The outbound policy of this session's connections.
    let outbound: OutboundGuard
    private var checkedBeforeConnecting = false

    public init(endpoint: SMTPEndpoint) throws {
        guard (1...65535).contains(endpoint.port), !endpoint.host.isEmpty,
            !endpoint.host.contains(where: { $0 == "/" || $0 == "@" || $0.isWhitespace })
        else {
            throw TransportError(.protocolError, detail: "invalid SMTP endpoint \(endpoint.host):\(endpoint.port)", service: "SMTP")
        }
        self.endpoint = endpoint
        outbound = OutboundGuard(
            policy: endpoint.policy, host: endpoint.host,
            insecureUse: OutboundPolicy.insecureUse(tls: endpoint.security != .none, verifyTLS: endpoint.verifyTLS,
                                                    sendsPassword: endpoint.authentication != .none),
            resolver: endpoint.resolver, service: "SMTP")
        handle = try CurlEasyHandle(outbound: outbound)
        try configure()
    }

    private func configure() throws {
        let e = endpoint
        let scheme = e.security == .tls ? "smtps" : "smtp"
        let helo = (e.heloName ?? "").filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }
        try handle.set(CURLOPT_URL, "\(scheme)://\(e.host):\(e.port)/\(helo)")
        try handle.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        try handle.set(CURLOPT_NOSIGNAL, 1)
        try handle.set(CURLOPT_TCP_KEEPALIVE, 1)
        try handle.set(CURLOPT_MAXCONNECTS, 1)
        try handle.set(CURLOPT_UPLOAD, 1)
        if e.authentication != .none {
            // Credentials as options, never in the URL, so no URL or error text can carry them.
            try handle.set(CURLOPT_USERNAME, e.username)
            switch e.authentication {
            case .oauth2:
                // AUTH=*: libcurl picks OAUTHBEARER or XOAUTH2, whichever the server offers.
                try handle.set(CURLOPT_XOAUTH2_BEARER, e.password.value)
                try handle.set(CURLOPT_LOGIN_OPTIONS, "AUTH=*")
            case .plain, .login, .none:
                try handle.set(CURLOPT_PASSWORD, e.password.value)
                try handle.set(CURLOPT_LOGIN_OPTIONS, e.authentication == .plain ? "AUTH=PLAIN" : "AUTH=LOGIN")
            }
        }
        try handle.setSecurityAndTimeouts(e.security, verifyTLS: e.verifyTLS, caFile: e.policy.caFile, connectTimeout: e.connectTimeout, ioTimeout: e.ioTimeout)
    }

    /// Submits `message` (CRLF line ends) from envelope sender `from` to every address of
    /// `recipients` (To, Cc and Bcc alike). Returns when the server accepted the message (250 after
    /// DATA); throws `TransportError` otherwise, with `replyCode` when the server refused, and
    /// `isTemporary` telling a retry apart from a permanent failure.
    public func send(from: String, recipients: [String], message: [UInt8]) throws {
        let envelope = [from] + recipients
        guard !recipients.isEmpty,
            envelope.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0 == "<" || $0 == ">" || $0.isNewline || $0 == " " }) })
        else { throw TransportError(.protocolError, detail: "invalid envelope address", service: "SMTP") }
        var slist: UnsafeMutablePointer<curl_slist>?
        for r in recipients { slist = r.withCString { mr_curl_slist_append(slist, $0) } }
        defer { curl_slist_free_all(slist) }
        try handle.set(CURLOPT_MAIL_FROM, "<\(from)>")
        try handle.setList(CURLOPT_MAIL_RCPT, slist)
        defer { try? handle.setList(CURLOPT_MAIL_RCPT, nil) }
        try handle.set(CURLOPT_INFILESIZE_LARGE, offset: message.count)
        if !checkedBeforeConnecting {
            try outbound.checkBeforeConnecting()
            checkedBeforeConnecting = true
        }

        var retried = false
        while true {
            let transfer = CurlTransfer(upload: message, limit: 1 << 20)
            let (code, text) = handle.perform(transfer)
            // A refused socket fails as "could not connect": report the policy instead.
            if let refused = outbound.takeRefusal(), code == CURLE_COULDNT_CONNECT { throw refused }
            let reply = Self.lastReply(transfer.header)
            lastReply = reply.map { scrub($0.line) }
            if code == CURLE_OK { return }
            let reused = handle.info(CURLINFO_NUM_CONNECTS) == 0
            let error = classify(code, message: text, reply: reply)
            // A pooled connection the server closed fails before any byte arrives: nothing was
            // submitted, so one more try on a fresh connection cannot send the message twice.
            if !retried, reused, transfer.header.isEmpty, error.code == .connectionLost || error.code == .protocolError {
                retried = true
                continue
            }
            throw error
        }
    }

    /// The last reply line with a 4xx or 5xx code (else the last reply line) of a server byte stream.
    static func lastReply(_ stream: [UInt8]) -> (code: Int, line: String)? {
        let lines = String(decoding: stream, as: UTF8.self).split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
        var last: (Int, String)?
        var lastFailure: (Int, String)?
        for line in lines {
            guard line.count >= 3, let code = Int(line.prefix(3)), (200..<600).contains(code) else { continue }
            let entry = (code, String(line.prefix(300)))
            last = entry
            if code >= 400 { lastFailure = entry }
        }
        return lastFailure ?? last
    }

    func classify(_ code: CURLcode, message: String, reply: (code: Int, line: String)?) -> TransportError {
        let failedReply = reply.flatMap { $0.code >= 400 ? $0 : nil }
        let kind: TransportError.Code
        switch code {
        case _ where CurlEasyHandle.transportKind(code) != nil:
            kind = CurlEasyHandle.transportKind(code)!
        case CURLE_LOGIN_DENIED:
            kind = .authenticationFailed
        case _ where failedReply != nil:
            kind = .rejected
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            kind = .connectionLost
        default:
            kind = .protocolError
        }
        var detail = message
        if let failedReply { detail += ": \(failedReply.line)" }
        return TransportError(kind, curlCode: Int(code.rawValue), detail: scrub(detail), replyCode: failedReply?.code,
                              service: "SMTP")
    }

    /// Removes the password from text that may end up in logs.
    func scrub(_ text: String) -> String {
        let password = endpoint.password.value
        guard password.count >= 3 else { return text }
        return text.replacingOccurrences(of: password, with: "<redacted>")
    }
}

extension CurlEasyHandle {
    /// Sets a `curl_slist` option; the list must outlive every transfer that uses it.
    func setList(_ option: CURLoption, _ list: UnsafeMutablePointer<curl_slist>?) throws {
        let code = mr_curl_setopt_slist(raw, option, list)
        guard code == CURLE_OK else {
            throw TransportError(.protocolError, curlCode: Int(code.rawValue), detail: "setting libcurl list option \(option.rawValue) failed")
        }
    }
}
