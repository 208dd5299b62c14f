/// The one error type of `MailTransport`.
///
/// `description` names the code, libcurl's code (SMTP) and a short detail (libcurl's error text or
/// the server's completion text). It never contains the password or token: credentials are never
/// put into URLs or error texts, and the sessions scrub the secret from any detail they record.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// TCP connect failed or the host name did not resolve.
        public static let connectFailed = Code("connectFailed")
        /// TLS handshake or certificate check failed, or STARTTLS was required but not offered.
        public static let tlsFailed = Code("tlsFailed")
        /// The server refused the credentials.
        public static let authenticationFailed = Code("authenticationFailed")
        /// The mailbox's UIDVALIDITY differs from the one asked for: every stored UID is void.
        public static let uidValidityChanged = Code("uidValidityChanged")
        /// The UID does not exist (any more) in the mailbox.
        public static let noSuchMessage = Code("noSuchMessage")
        /// The mailbox does not exist or cannot be selected.
        public static let noSuchFolder = Code("noSuchFolder")
        /// The server answered a command with NO or BAD.
        public static let commandFailed = Code("commandFailed")
        /// No byte arrived within the I/O or connect timeout.
        public static let timeout = Code("timeout")
        /// The connection broke mid-command (reset, cut mid-literal, dropped).
        public static let connectionLost = Code("connectionLost")
        /// A response exceeded what the session accepts (`IMAPSession.maxResponseBytes`) or what
        /// libcurl accepts in one SMTP command.
        public static let responseTooLarge = Code("responseTooLarge")
        /// The server's answer could not be understood, or a request could not be expressed.
        public static let protocolError = Code("protocolError")
        /// The outbound host policy refused the destination (its address class, or an insecure
        /// connection) before any byte was exchanged. The detail names the configured host and the
        /// rule, nothing learnt from the network.
        public static let hostRefused = Code("hostRefused")
        /// A message body passed the size limit the fetch was given (whatever size the server had
        /// announced); its bytes were discarded. IMAP reads and drops the rest of the literal, so
        /// the connection stays usable.
        public static let messageTooLarge = Code("messageTooLarge")
        /// The SMTP server refused the sender, a recipient or the message (`replyCode` says how).
        public static let rejected = Code("rejected")

        public var description: String { name }
    }

    public var code: Code
    /// libcurl's `CURLcode`, when the error came from libcurl.
    public var curlCode: Int?
    public var detail: String
    /// The SMTP reply code that ended the transaction (e.g. 554), when an SMTP server answered.
    public var replyCode: Int?
    /// `IMAP` or `SMTP`: which protocol failed.
    public var service: String

    public init(_ code: Code, curlCode: Int? = nil, detail: String, replyCode: Int? = nil, service: String = "IMAP") {
        self.code = code
        self.curlCode = curlCode
        self.detail = detail
        self.replyCode = replyCode
        self.service = service
    }

    public var description: String {
        let curl = curlCode.map { " (curl \($0))" } ?? ""
        let reply = replyCode.map { " reply \($0)" } ?? ""
        return "\(service) transport error \(code)\(curl)\(reply): \(detail)"
    }

    /// For submission: worth trying again later. A 4xx reply (RFC 5321 §4.2.1: transient negative
    /// completion), a failed connection, a timeout or a dropped connection are temporary; a 5xx reply
    /// (refused recipient, failed authentication), a TLS failure or anything else is permanent.
    public var isTemporary: Bool {
        if let replyCode { return (400..<500).contains(replyCode) }
        return isTransient
    }

    /// Worth retrying later with the same request: the failure says nothing about the request.
    public var isTransient: Bool {
        [.connectFailed, .timeout, .connectionLost].contains(code)
    }
}
