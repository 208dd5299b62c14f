import MailCore

/// How the connection to a mail server is protected.
public enum TransportSecurity: String, Sendable, Codable {
    /// Plain TCP: credentials travel in clear text. Only for servers on loopback or inside a
    /// protected network.
    case none
    /// Plain TCP upgraded with STARTTLS (RFC 3501 §6.2.1) before login; refuses to continue
    /// when the server does not offer it.
    case starttls
    /// TLS from the first byte (IMAPS, RFC 8314).
    case tls
}

/// Where and how to reach an IMAP server.
public struct IMAPEndpoint: Sendable {
    public var host: String
    public var port: Int
    public var security: TransportSecurity
    /// When false, the server's certificate and host name are not checked (self-signed test
    /// servers). The connection is still encrypted.
    public var verifyTLS: Bool
    public var username: String
    public var password: Secret
    /// Limit for TCP connect plus TLS handshake.
    public var connectTimeout: Duration
    /// Longest a command may wait for the server without receiving a byte.
    public var ioTimeout: Duration

    public init(host: String, port: Int, security: TransportSecurity, verifyTLS: Bool = true,
                username: String, password: Secret,
                connectTimeout: Duration = .seconds(15), ioTimeout: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.security = security
        self.verifyTLS = verifyTLS
        self.username = username
        self.password = password
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
    }
}
