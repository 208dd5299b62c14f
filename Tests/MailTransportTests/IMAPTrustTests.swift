import Foundation
import MailCore
import MailTesting
import Testing
@testable import MailTransport

/// Verified TLS trusts the system store plus the operator's `MAILROOM_TLS_CA_FILE`, carried by the
/// outbound policy to every session. Dovecot's test certificate is self-signed (for `localhost`
/// and 127.0.0.1): trusted through the file, refused without it.
@Suite struct IMAPTrustTests {
    @Test(arguments: [TransportSecurity.starttls, .tls])
    func verifiedLoginTrustsTheOperatorsCAFile(_ security: TransportSecurity) throws {
        let server = try LiveDovecot.fromEnvironment()
        let account = try server.newAccount("trust")
        var endpoint = server.endpoint(account, security: security, verifyTLS: true)

        let untrusted = #expect(throws: TransportError.self) { try IMAPSession(endpoint: endpoint).noop() }
        #expect(untrusted?.code == .tlsFailed, "\(String(describing: untrusted))")

        endpoint.policy.caFile = try server.certificateFile()
        try IMAPSession(endpoint: endpoint).noop()
    }

    @Test func anUnreadableCAFileIsASettingError() throws {
        var policy = OutboundPolicy()
        policy.caFile = "/nonexistent/mailroom-ca.pem"
        let error = #expect(throws: SettingError.self) { try TLSTrust(policy: policy) }
        #expect(error?.setting == OutboundPolicy.caFileVariable)
        #expect(try OutboundPolicy.fromEnvironment([OutboundPolicy.caFileVariable: "/x.pem"]).caFile == "/x.pem")
        #expect(try OutboundPolicy.fromEnvironment([:]).caFile == nil)
    }
}

extension IMAPTrustTests {
    /// SMTP (libcurl) trusts the same file: Postfix serves the same self-signed certificate.
    @Test func verifiedSubmissionTrustsTheOperatorsCAFile() async throws {
        let server = try TestMailServer.fromEnvironment()
        let sender = try server.createMailbox(prefix: "trust-smtp")
        defer { try? server.removeMailbox(sender) }
        var endpoint = SMTPEndpoint(host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: true,
                                    username: sender.address, password: sender.secret, heloName: "test.local",
                                    policy: server.outboundPolicy)
        let untrusted = try await OutboundPolicyLiveTests.smtpOutcome(endpoint)
        #expect("\(untrusted)".contains("tlsFailed"), "\(untrusted)")

        endpoint.policy.caFile = try LiveDovecot.fromEnvironment().certificateFile()
        let trusted = try await OutboundPolicyLiveTests.smtpOutcome(endpoint)
        #expect((try? trusted.get()) != nil, "\(trusted)")
    }
}
