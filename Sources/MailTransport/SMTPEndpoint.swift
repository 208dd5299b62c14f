import MailCore

/// Where and how to submit mail over SMTP.
public struct SMTPEndpoint: Sendable {
    /// The SASL mechanism libcurl uses (`CURLOPT_LOGIN_OPTIONS`), or no authentication.
    public enum Authentication: String, Sendable {
        case plain, login, none
        /// OAuth 2.0 bearer token (OAUTHBEARER or XOAUTH2); `password` holds the access token.
        case oauth2
    }

    public var host: String
    public var port: Int
    /// `.starttls` (submission, RFC 6409) and `.tls` (RFC 8314 port 465) both insist on TLS: libcurl
    /// would otherwise log in over plain text when STARTTLS is missing.
    public var security: TransportSecurity
    /// When false, the server's certificate and host name are not checked (self-signed servers).
    public var verifyTLS: Bool
    public var authentication: Authentication
    public var username: String
    public var password: Secret
    /// The EHLO name (the URL path); by default the machine's host name.
    public var heloName: String?
    public var connectTimeout: Duration
    /// Longest a command may wait for the server without a byte.
    public var ioTimeout: Duration
    /// Where connections may go and where insecure ones are allowed. The default is the strictest
    /// policy (global addresses, verified TLS); the worker passes the operator's.
    public var policy: OutboundPolicy
    /// The resolver of the early policy check (the socket-time check needs none).
    public var resolver: HostResolver

    public init(host: String, port: Int, security: TransportSecurity, verifyTLS: Bool = true,
                authentication: Authentication = .plain, username: String = "", password: Secret = Secret(""),
                heloName: String? = nil, connectTimeout: Duration = .seconds(15), ioTimeout: Duration = .seconds(60),
                policy: OutboundPolicy = OutboundPolicy(), resolver: HostResolver = .system) {
        self.host = host
        self.port = port
        self.security = security
        self.verifyTLS = verifyTLS
        self.authentication = authentication
        self.username = username
        self.password = password
        self.heloName = heloName
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
        self.policy = policy
        self.resolver = resolver
    }
}
