import CCurl
import Foundation
import MailCore
import MailProtocol

/// An authenticated IMAP session over libcurl: one `CURL*` handle whose connection libcurl keeps
/// open and reuses between calls.
///
/// Not Sendable and every method blocks: create and use a session on one `IOThread`. The first
/// call connects and logs in; later calls reuse the connection.
///
/// How libcurl's IMAP support shapes this type:
/// - Responses to commands libcurl does not know (custom requests) reach the write callback only
///   in part; the header callback gets the server's exact byte stream, which `MailProtocol`
///   parses. Message bodies never go through custom commands: libcurl reads those responses line
///   by line, so a body line starting with `* ` or the tag would be taken for a response.
/// - libcurl remembers which mailbox it SELECTed (and the UIDVALIDITY it saw) and skips SELECT
///   when a URL names that mailbox again. Every command that needs a mailbox therefore goes to
///   that mailbox's URL, so the server's selection and libcurl's always agree; `examine` is a
///   custom SELECT of the URL's own mailbox, and a new connection is forced whenever libcurl's
///   remembered state may be stale (see `examine`).
/// - A connection the server dropped while pooled fails once with 55/56; the session retries
///   such a command once when the server had neither completed it nor asked for its literal.
public final class IMAPSession {
    public let endpoint: IMAPEndpoint
    /// The most bytes one command may return (message plus protocol lines).
    public var maxResponseBytes = 256 << 20

    let handle: CurlEasyHandle
    let url: IMAPURL
    var cachedCapabilities: Set<String>?
    /// Set when libcurl's idea of the selected mailbox may be wrong: the next request reconnects.
    var freshConnectionNeeded = false
    /// The mailbox libcurl selected on the current connection and the UIDVALIDITY its own SELECT
    /// reported (libcurl checks `;UIDVALIDITY=` URLs against that remembered value, not the
    /// server's current one). `nil` when unknown.
    var curlSelection: (folder: String, uidValidity: UIDValidity?)?

    /// UIDs per `UID FETCH` of metadata. Debian's libcurl 7.88.1 fails large custom responses with
    /// 56 "Too large response headers: N > 307200" (its count grows faster than the bytes: seen
    /// after ~300 short Dovecot FETCH lines, sooner with longer ones); a chunk that still fails is
    /// split in two.
    var metadataChunkSize = 25
    /// UID numbers per plain `UID SEARCH` when ESEARCH is missing: libcurl silently cuts lines
    /// longer than its 16 KB buffer (seen: a 17 KB `* SEARCH` line of 3500 UIDs came back with
    /// 1151, rc 0), and 1000 UIDs of 10 digits stay below that.
    var searchRangeSize = 1000
    /// Tests set this to exercise the plain-SEARCH path against a server that has ESEARCH.
    var esearchOverride: Bool?
    /// The outbound policy of this session's connections.
    let outbound: OutboundGuard
    /// Set once the early policy check passed (every later socket is still checked).
    private var checkedBeforeConnecting = false

    /// Creates the handle and sets its options; connects on the first command.
    public init(endpoint: IMAPEndpoint) throws {
        guard (1...65535).contains(endpoint.port), !endpoint.host.isEmpty,
            !endpoint.host.contains(where: { $0 == "/" || $0 == "@" || $0.isWhitespace })
        else { throw TransportError(.protocolError, detail: "invalid IMAP endpoint \(endpoint.host):\(endpoint.port)") }
        self.endpoint = endpoint
        self.url = IMAPURL(endpoint: endpoint)
        // IMAP always logs in: without TLS the credentials travel in clear text.
        outbound = OutboundGuard(
            policy: endpoint.policy, host: endpoint.host,
            insecureUse: OutboundPolicy.insecureUse(tls: endpoint.security != .none, verifyTLS: endpoint.verifyTLS,
                                                    sendsPassword: true),
            resolver: endpoint.resolver, service: "IMAP")
        handle = try CurlEasyHandle(outbound: outbound)
        try configure()
    }

    private func configure() throws {
        try handle.set(CURLOPT_PROTOCOLS_STR, "imap,imaps")
        try handle.set(CURLOPT_NOSIGNAL, 1)
        try handle.set(CURLOPT_TCP_KEEPALIVE, 1)
        // One session, one connection: when a new one is opened the old one is closed, never reused.
        try handle.set(CURLOPT_MAXCONNECTS, 1)
        // libcurl refuses to reuse a connection idle for more than 118 s by default; a session kept
        // between polls (see the worker's session cache) decides its own idle limit.
        try handle.set(CURLOPT_MAXAGE_CONN, 3600)
        // Credentials as options, never in the URL, so no URL or error text can carry them.
        try handle.set(CURLOPT_USERNAME, endpoint.username)
        switch endpoint.login {
        case .password:
            try handle.set(CURLOPT_PASSWORD, endpoint.password.value)
        case .oauth2:
            // libcurl then chooses OAUTHBEARER or XOAUTH2 from the server's capabilities.
            try handle.set(CURLOPT_XOAUTH2_BEARER, endpoint.password.value)
        }
        try handle.setSecurityAndTimeouts(endpoint.security, verifyTLS: endpoint.verifyTLS,
                                          connectTimeout: endpoint.connectTimeout, ioTimeout: endpoint.ioTimeout)
    }

    /// True when the session's connection was opened by its last command (a new TCP connection and
    /// login), false when an open connection was reused.
    public var lastCommandConnected: Bool { handle.info(CURLINFO_NUM_CONNECTS) > 0 }

    // MARK: - Transfers

    /// One request: a URL plus, optionally, a custom command or an upload (APPEND).
    struct Request {
        var url: String
        /// The mailbox the URL names, if any: libcurl SELECTs it unless it already has.
        var folder: String?
        var command: String?
        var upload: [UInt8]?
        /// The most body bytes accepted (a message fetch's size limit); beyond it the transfer
        /// aborts with `.messageTooLarge`.
        var bodyLimit: Int?
    }

    /// Runs `request`, retrying once when a reused connection turns out to be dead: libcurl
    /// reports 55/56 and the server had neither completed the command nor asked for its literal,
    /// so repeating it cannot apply it twice (a dropped pooled connection, or Dovecot's
    /// `* BYE … inconsistent` after a UIDVALIDITY change). On failure any partial body is discarded.
    func perform(_ request: Request) throws -> CurlTransfer {
        if !checkedBeforeConnecting {
            try outbound.checkBeforeConnecting()
            checkedBeforeConnecting = true
        }
        var retried = false
        while true {
            let transfer = CurlTransfer(upload: request.upload ?? [], limit: maxResponseBytes, bodyLimit: request.bodyLimit)
            try handle.set(CURLOPT_URL, request.url)
            // libcurl URL-decodes custom requests: a literal `%` must travel as `%25`.
            try handle.set(CURLOPT_CUSTOMREQUEST, request.command.map { $0.replacingOccurrences(of: "%", with: "%25") })
            try handle.set(CURLOPT_UPLOAD, request.upload == nil ? 0 : 1)
            try handle.set(CURLOPT_INFILESIZE_LARGE, offset: request.upload?.count ?? -1)
            try handle.set(CURLOPT_FRESH_CONNECT, freshConnectionNeeded ? 1 : 0)
            freshConnectionNeeded = false
            let (code, message) = handle.perform(transfer)
            let refused = outbound.takeRefusal()
            if code == CURLE_OK {
                noteSelection(request, transfer)
                return transfer
            }
            curlSelection = nil
            // A refused socket fails as "could not connect": report the policy instead.
            if let refused, code == CURLE_COULDNT_CONNECT { throw refused }
            if transfer.exceededBodyLimit {
                // libcurl closes a connection whose transfer failed; make sure the next command
                // does not read the rest of the literal.
                freshConnectionNeeded = true
                throw TransportError(.messageTooLarge, curlCode: Int(code.rawValue),
                                     detail: "message body passed the limit of \(request.bodyLimit ?? 0) bytes; transfer aborted")
            }
            let reused = handle.info(CURLINFO_NUM_CONNECTS) == 0
            let error = classify(code, message: message, transfer: transfer)
            if !retried, reused, error.code == .connectionLost, !Self.serverAnswered(transfer.header) {
                retried = true
                continue
            }
            throw error
        }
    }

    /// Records what libcurl now believes is selected. Its own SELECT, when it sent one, is the
    /// first source of an `[UIDVALIDITY n]` code in the stream.
    private func noteSelection(_ request: Request, _ transfer: CurlTransfer) {
        if handle.info(CURLINFO_NUM_CONNECTS) > 0 { curlSelection = nil }
        guard let folder = request.folder else { return }
        if let first = Self.uidValidities(transfer.header).first {
            curlSelection = (folder, first)
        } else if curlSelection?.folder != folder {
            curlSelection = (folder, nil)
        }
    }

    /// Every `[UIDVALIDITY n]` code in a stream, in order.
    static func uidValidities(_ stream: [UInt8]) -> [UIDValidity] {
        ((try? IMAPResponse.parseCompleteResponses(stream)) ?? []).compactMap { response in
            guard response.codeName == "UIDVALIDITY", let value = response.code?.dropFirst().first?.number,
                let raw = UInt32(exactly: value)
            else { return nil }
            return UIDValidity(raw)
        }
    }

    /// Runs a custom command and parses the server's byte stream with `parse`.
    func command<T>(_ command: String, in folder: String? = nil, _ parse: ([UInt8]) throws -> T) throws -> T {
        let target = folder.map(url.mailbox) ?? url.root
        let transfer = try perform(Request(url: target, folder: folder, command: command))
        do {
            return try parse(transfer.header)
        } catch let error as IMAPProtocolError {
            throw TransportError(error.code == .commandFailed ? .commandFailed : .protocolError,
                                 detail: scrub("\(command.prefix(40)): \(error.detail)"))
        }
    }

    /// True when the stream holds a tagged completion or a continuation request: the server
    /// executed the command or took its literal, so repeating it could apply it twice.
    static func serverAnswered(_ stream: [UInt8]) -> Bool {
        // Unparseable means unknown: assume the worst.
        guard let responses = try? IMAPResponse.parseCompleteResponses(stream) else { return true }
        return responses.contains { $0.tag != .untagged }
    }

    /// Maps libcurl's result to a `TransportError`, reading the error text where one code has
    /// several meanings.
    func classify(_ code: CURLcode, message: String, transfer: CurlTransfer) -> TransportError {
        let text = message.lowercased()
        let kind: TransportError.Code
        switch code {
        case _ where CurlEasyHandle.transportKind(code) != nil:
            kind = CurlEasyHandle.transportKind(code)!
        case CURLE_LOGIN_DENIED:
            // libcurl reports a refused SELECT as 67, like a refused login.
            kind = text.contains("select failed") ? .noSuchFolder : .authenticationFailed
        case CURLE_REMOTE_FILE_NOT_FOUND:
            // 78 is both "no such UID" and "Mailbox UIDVALIDITY has changed".
            kind = text.contains("uidvalidity") ? .uidValidityChanged : .noSuchMessage
        case CURLE_QUOTE_ERROR, CURLE_UPLOAD_FAILED, CURLE_REMOTE_ACCESS_DENIED:
            kind = .commandFailed
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            kind = text.contains("too large") ? .responseTooLarge : .connectionLost
        case CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING:
            kind = .connectionLost
        case CURLE_WRITE_ERROR where transfer.exceededLimit:
            kind = .responseTooLarge
        default:
            kind = .protocolError
        }
        var detail = message
        // For refused commands the server's own words say more than libcurl's.
        if kind == .commandFailed || kind == .noSuchFolder, let reason = Self.lastRefusal(transfer.header) {
            detail += ": \(reason)"
            // RFC 5530 NONEXISTENT, RFC 3501 §7.1 TRYCREATE: the mailbox is missing.
            let upper = reason.uppercased()
            if upper.contains("[NONEXISTENT]") || upper.contains("[TRYCREATE]") {
                return TransportError(.noSuchFolder, curlCode: Int(code.rawValue), detail: scrub(detail))
            }
        }
        return TransportError(kind, curlCode: Int(code.rawValue), detail: scrub(detail))
    }

    /// The last tagged NO/BAD line of a stream, e.g. `A005 NO [TRYCREATE] Mailbox doesn't exist`.
    /// (After a failure libcurl logs out, so the stream ends with LOGOUT's own OK.)
    private static func lastRefusal(_ stream: [UInt8]) -> String? {
        let responses = (try? IMAPResponse.parseCompleteResponses(stream)) ?? []
        return responses.last { response in
            if case .tagged = response.tag { return response.condition == .no || response.condition == .bad }
            return false
        }.map { response in
            let code = response.codeName.map { "[\($0)] " } ?? ""
            return "\(response.condition!.rawValue) \(code)\(response.text)".prefix(200).description
        }
    }

    /// Removes the password from text that may end up in logs.
    func scrub(_ text: String) -> String {
        let password = endpoint.password.value
        guard password.count >= 3 else { return text }
        return text.replacingOccurrences(of: password, with: "<redacted>")
    }
}

func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
}
