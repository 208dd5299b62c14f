import Foundation
import MailCore
import MailProtocol
import MailTesting
import Testing
@testable import MailTransport

/// The outbound host policy at connect time, against real loopback listeners and the test servers.
/// Nothing here connects anywhere but loopback.
@Suite struct OutboundPolicyLiveTests {
    /// The operator allows something else entirely: loopback stays refused.
    static let elsewhere = try! OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "10.9.0.0/16,mail.internal.example"])

    static func imap(_ host: String, port: Int, policy: OutboundPolicy, resolver: HostResolver = .system,
                     security: TransportSecurity = .tls) -> IMAPEndpoint {
        IMAPEndpoint(host: host, port: port, security: security, username: "u", password: Secret("pw-secret"),
                     connectTimeout: .seconds(2), ioTimeout: .seconds(2), policy: policy, resolver: resolver)
    }

    static func smtp(_ host: String, port: Int, policy: OutboundPolicy, resolver: HostResolver = .system) -> SMTPEndpoint {
        SMTPEndpoint(host: host, port: port, security: .tls, username: "u", password: Secret("pw-secret"),
                     connectTimeout: .seconds(2), ioTimeout: .seconds(2), policy: policy, resolver: resolver)
    }

    static func imapOutcome(_ endpoint: IMAPEndpoint) async throws -> Result<Set<String>, any Error> {
        let connection = try await IMAPConnection(endpoint: endpoint)
        defer { connection.close() }
        return await Result { try await connection.run { try $0.capabilities() } }
    }

    static func smtpOutcome(_ endpoint: SMTPEndpoint) async throws -> Result<Void, any Error> {
        let connection = try await SMTPConnection(endpoint: endpoint)
        defer { connection.close() }
        return await Result {
            try await connection.send(from: "a@test.local", recipients: ["b@test.local"], message: Array("Subject: x\r\n\r\nx\r\n".utf8))
        }
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func loopbackNotInTheAllowListIsRefusedWithoutConnecting(_ host: String) async throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let outcome = try await Self.imapOutcome(Self.imap(host, port: listener.port, policy: Self.elsewhere))
        #expect(outcome.errorCode == .hostRefused, "\(outcome)")
        let text = "\(outcome)"
        #expect(text.contains("host \"\(host)\" refused: address class loopback, not in MAILROOM_ALLOWED_HOSTS"), "\(text)")
        #expect(!text.contains("pw-secret") && !text.contains("\(listener.port)"))
        let smtp = try await Self.smtpOutcome(Self.smtp(host, port: listener.port, policy: Self.elsewhere))
        #expect(smtp.errorCode == .hostRefused, "\(smtp)")
        #expect("\(smtp)".contains("SMTP transport error hostRefused: host \"\(host)\" refused"))
        #expect(listener.acceptedConnections() == 0)
    }

    /// DNS rebinding: the early check's resolver answers an allowed address, libcurl's own lookup of
    /// `localhost` answers loopback. The socket-time check refuses the address libcurl got.
    @Test func rebindingIsCaughtWhenTheSocketOpens() async throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let policy = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.77/32"])
        let answersAllowed = HostResolver { _ in [IPAddress(literal: "127.0.0.77")!] }
        let outcome = try await Self.imapOutcome(Self.imap("localhost", port: listener.port, policy: policy, resolver: answersAllowed))
        #expect(outcome.errorCode == .hostRefused, "\(outcome)")
        #expect("\(outcome)".contains("host \"localhost\" refused: address class loopback, not in MAILROOM_ALLOWED_HOSTS"))
        let smtp = try await Self.smtpOutcome(Self.smtp("localhost", port: listener.port, policy: policy, resolver: answersAllowed))
        #expect(smtp.errorCode == .hostRefused, "\(smtp)")
        #expect(listener.acceptedConnections() == 0)
    }

    /// The control for the tests above: with the listener's address allowed, the same setup does
    /// reach it (it never greets, so the session times out), and the listener counts it.
    @Test func allowedLoopbackReachesTheListener() async throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let policy = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.1/32"])
        let answersAllowed = HostResolver { _ in [IPAddress(literal: "127.0.0.1")!] }
        let outcome = try await Self.imapOutcome(Self.imap("127.0.0.1", port: listener.port, policy: policy, resolver: answersAllowed))
        #expect(outcome.errorCode == .timeout || outcome.errorCode == .tlsFailed, "\(outcome)")
        #expect(listener.acceptedConnections() >= 1)
    }

    @Test func clearTextLoginNeedsTheInsecureList() async throws {
        let server = try LiveDovecot.fromEnvironment()
        let account = try server.newAccount("cleartext")
        var endpoint = server.endpoint(account, security: .none, verifyTLS: true)
        endpoint.port = server.starttlsPort
        endpoint.policy.insecure = HostList()
        let refused = try await Self.imapOutcome(endpoint)
        #expect(refused.errorCode == .hostRefused)
        #expect("\(refused)".contains("refused: clear-text login, not in MAILROOM_INSECURE_HOSTS"), "\(refused)")
        endpoint.policy = server.policy
        let allowed = try await Self.imapOutcome(endpoint)
        #expect(allowed.errorCode == nil, "\(allowed)")
    }

    @Test(arguments: [TransportSecurity.starttls, .tls])
    func unverifiedTLSNeedsTheInsecureList(_ security: TransportSecurity) async throws {
        let server = try LiveDovecot.fromEnvironment()
        let account = try server.newAccount("noverify")
        var endpoint = server.endpoint(account, security: security, verifyTLS: false)
        endpoint.policy.insecure = HostList()
        let refused = try await Self.imapOutcome(endpoint)
        #expect(refused.errorCode == .hostRefused)
        #expect("\(refused)".contains("refused: unverified TLS, not in MAILROOM_INSECURE_HOSTS"), "\(refused)")
        endpoint.policy = server.policy
        #expect(try await Self.imapOutcome(endpoint).errorCode == nil)
    }

    @Test func smtpInsecureUseNeedsTheInsecureList() async throws {
        let server = try TestMailServer.fromEnvironment()
        let sender = try server.createMailbox(prefix: "policy-smtp")
        defer { try? server.removeMailbox(sender) }
        var endpoint = SMTPEndpoint(host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: false,
                                    username: sender.address, password: sender.secret, heloName: "test.local",
                                    policy: server.outboundPolicy)
        endpoint.policy.insecure = HostList()
        let refused = try await Self.smtpOutcome(endpoint)
        #expect(refused.errorCode == .hostRefused)
        #expect("\(refused)".contains("refused: unverified TLS, not in MAILROOM_INSECURE_HOSTS"), "\(refused)")
        // Clear text without a password (the MX port, no AUTH) is not an insecure use.
        let mx = SMTPEndpoint(host: server.host, port: server.mxPort, security: .none, authentication: .none,
                              heloName: "test.local", policy: OutboundPolicy(allowed: server.outboundPolicy.allowed))
        let connection = try await SMTPConnection(endpoint: mx)
        defer { connection.close() }
        try await connection.send(from: "policy@test.local", recipients: [sender.address],
                                  message: Array("Subject: plain\r\n\r\nno password travelled\r\n".utf8))
    }

    /// The body limit aborts the transfer at the limit, whatever size the server announced, and
    /// keeps nothing of the body; the session goes on working.
    @Test func fetchAbortsWhenTheBodyPassesTheLimit() async throws {
        let (_, _, connection) = try await connect("bodylimit")
        defer { connection.close() }
        let message = testMessage(subject: "big", body: String(repeating: "0123456789abcdef\r\n", count: 4000))
        let (uid, announced) = try await connection.run { session in
            let uid = try session.append("INBOX", message: message)!
            return (uid, try session.fetchMetadata("INBOX", uids: UIDSet([uid]))[0].size)
        }
        #expect(announced == message.count)
        let (cut, whole, afterwards) = try await connection.run { session in
            let cut = Result { try session.fetchMessage("INBOX", uid: uid, maxBytes: 10_000) }
            let whole = try session.fetchMessage("INBOX", uid: uid, maxBytes: message.count)
            let afterwards = try session.examine("INBOX").exists
            return (cut, whole, afterwards)
        }
        #expect(cut.errorCode == .messageTooLarge)
        if case .failure(let error) = cut {
            #expect("\(error)".contains("message body passed the limit of 10000 bytes"))
        }
        #expect(whole == message)
        #expect(afterwards == 1)
    }
}

/// A loopback listener that counts the connections that reached it (accepted or waiting in its
/// backlog), without ever answering.
final class CountingListener: @unchecked Sendable {
    private let socket: SilentListener
    var port: Int { socket.port }

    init() throws { socket = try SilentListener() }

    /// Drains the backlog without blocking and returns how many connections were made in all.
    func acceptedConnections() -> Int {
        let flags = fcntl(socket.fd, F_GETFL)
        _ = fcntl(socket.fd, F_SETFL, flags | O_NONBLOCK)
        var count = 0
        while true {
            let fd = accept(socket.fd, nil, nil)
            guard fd >= 0 else { break }
            count += 1
            _ = Glibc.close(fd)
        }
        return count
    }

    func close() { socket.close() }
}
