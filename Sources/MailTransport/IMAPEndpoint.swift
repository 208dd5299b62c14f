import MailCore

/// How the connection to a mail server is protected.
public enum TransportSecurity: String, Sendable, Codable {
    /// Plain TCP: credentials travel in clear text. Refused unless the operator lists the host in
    /// `MAILROOM_INSECURE_HOSTS` (see `OutboundPolicy`).
    case none
    /// Plain TCP upgraded with STARTTLS (RFC 3501 §6.2.1) before login; refuses to continue
    /// when the server does not offer it.
    case starttls
    /// TLS from the first byte (IMAPS, RFC 8314).
    case tls
}

/// How a session logs in.
public enum LoginMethod: String, Sendable {
    /// SASL PLAIN / LOGIN (or IMAP LOGIN) with a password.
    case password
    /// OAuth 2.0 bearer token: SASL OAUTHBEARER (RFC 7628) or XOAUTH2, whichever the server offers;
    /// the endpoint's `password` then holds the access token.
    case oauth2
}

/// Where and how to reach an IMAP server.
public struct IMAPEndpoint: Sendable {
    public var host: String
    public var port: Int
    public var security: TransportSecurity
    /// When false, the server's certificate and host name are not checked (self-signed test
    /// servers). The connection is still encrypted. Refused unless the operator lists the host in
    /// `MAILROOM_INSECURE_HOSTS`.
    public var verifyTLS: Bool
    public var username: String
    /// The password, or the access token when `login` is `.oauth2`.
    public var password: Secret
    public var login: LoginMethod
    /// Limit for TCP connect plus TLS handshake.
    public var connectTimeout: Duration
    /// Longest a command may wait for the server without receiving a byte.
    public var ioTimeout: Duration
    /// Where connections may go and where insecure ones are allowed. The default is the strictest
    /// policy (global addresses, verified TLS); the worker passes the operator's.
    public var policy: OutboundPolicy
    /// The resolver of the early policy check (the socket-time check needs none).
    public var resolver: HostResolver

    public init(host: String, port: Int, security: TransportSecurity, verifyTLS: Bool = true,
                username: String, password: Secret, login: LoginMethod = .password,
                connectTimeout: Duration = .seconds(15), ioTimeout: Duration = .seconds(60),
                policy: OutboundPolicy = OutboundPolicy(), resolver: HostResolver = .system) {
        self.login = login
        self.host = host
        self.port = port
        self.security = security
        self.verifyTLS = verifyTLS
        self.username = username
        self.password = password
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
        self.policy = policy
        self.resolver = resolver
    }
}
