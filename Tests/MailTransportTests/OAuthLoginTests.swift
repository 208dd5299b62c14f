import Foundation
import MailCore
import MailTesting
import MailTransport
import Testing

/// OAuth 2.0 logins against the real servers: the test Dovecot checks bearer tokens through the test
/// token server's introspection (its `oauth2` passdb), and Postfix's SMTP AUTH goes through Dovecot, so
/// both XOAUTH2/OAUTHBEARER paths are the real ones a provider's servers would run.
@Suite struct OAuthLoginTests {
    static func imapEndpoint(_ server: TestMailServer, _ mailbox: TestMailbox, token: Secret) -> IMAPEndpoint {
        IMAPEndpoint(host: server.host, port: server.imapPort, security: .starttls, verifyTLS: false,
                     username: mailbox.address, password: token, login: .oauth2,
                     connectTimeout: .seconds(30), ioTimeout: .seconds(30), policy: server.outboundPolicy)
    }

    static func smtpEndpoint(_ server: TestMailServer, _ mailbox: TestMailbox, token: Secret) -> SMTPEndpoint {
        SMTPEndpoint(host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: false,
                     authentication: .oauth2, username: mailbox.address, password: token, heloName: "test.local",
                     policy: server.outboundPolicy)
    }

    @Test func imapLogsInWithABearerTokenAndRefusesARevokedOne() async throws {
        let server = try TestMailServer.fromEnvironment()
        let tokens = try TestTokenServer.fromEnvironment()
        let mailbox = try server.createMailbox(prefix: "oauth-imap")
        defer { try? server.removeMailbox(mailbox) }
        try server.deliverToMaildir(mailbox, messages: [Array("Message-ID: <oauth-1@x.test>\r\nSubject: via token\r\n\r\nhi\r\n".utf8)])
        let grant = try await tokens.makeUser(mailbox.address)

        let connection = try await IMAPConnection(endpoint: Self.imapEndpoint(server, mailbox, token: grant.accessToken))
        let status = try await connection.run { try $0.examine("INBOX") }
        connection.close()
        #expect(status.exists == 1)

        // A revoked grant, and a token that was never issued: refused as an authentication failure
        // that never shows the token.
        try await tokens.revoke(mailbox.address)
        for token in [grant.accessToken, Secret("at-never-issued-\(UUID().uuidString)")] {
            let refused = try await IMAPConnection(endpoint: Self.imapEndpoint(server, mailbox, token: token))
            defer { refused.close() }
            let error = await #expect(throws: TransportError.self) { try await refused.run { try $0.examine("INBOX") } }
            #expect(error?.code == .authenticationFailed, "\(String(describing: error))")
            #expect(!"\(String(describing: error))".contains(token.value))
        }
    }

    @Test func smtpSubmitsWithABearerTokenAndRefusesAnExpiredOne() async throws {
        let server = try TestMailServer.fromEnvironment()
        let tokens = try TestTokenServer.fromEnvironment()
        let sender = try server.createMailbox(prefix: "oauth-smtp")
        let recipient = try server.createMailbox(prefix: "oauth-rcpt")
        defer { try? server.removeMailbox(sender); try? server.removeMailbox(recipient) }
        let grant = try await tokens.makeUser(sender.address)

        let connection = try await SMTPConnection(endpoint: Self.smtpEndpoint(server, sender, token: grant.accessToken))
        try await connection.send(from: sender.address, recipients: [recipient.address],
                                  message: Array("From: \(sender.address)\r\nSubject: sent with a token\r\nMessage-ID: <oauth-smtp-\(UUID().uuidString)@x.test>\r\n\r\nhi\r\n".utf8))
        connection.close()

        try await tokens.expireAccessTokens(sender.address)
        let expired = try await SMTPConnection(endpoint: Self.smtpEndpoint(server, sender, token: grant.accessToken))
        defer { expired.close() }
        let error = await #expect(throws: TransportError.self) {
            try await expired.send(from: sender.address, recipients: [recipient.address], message: Array("Subject: x\r\n\r\nx\r\n".utf8))
        }
        #expect(error?.code == .authenticationFailed, "\(String(describing: error))")
        #expect(!"\(String(describing: error))".contains(grant.accessToken.value))
    }
}
