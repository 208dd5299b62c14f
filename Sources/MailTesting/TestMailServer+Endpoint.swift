import MailCore
import MailTransport

extension TestMailServer {
    /// An endpoint that logs in to `mailbox` over STARTTLS (the test certificate is self-signed).
    public func endpoint(for mailbox: TestMailbox, security: TransportSecurity = .starttls) -> IMAPEndpoint {
        IMAPEndpoint(host: host, port: security == .tls ? imapsPort : imapPort, security: security, verifyTLS: false,
                     username: mailbox.username, password: mailbox.secret,
                     connectTimeout: .seconds(30), ioTimeout: .seconds(30), policy: outboundPolicy)
    }
}
