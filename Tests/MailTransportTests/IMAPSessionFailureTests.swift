import Foundation
import MailCore
import MailProtocol
import MailTesting
import Testing
@testable import MailTransport

@Suite struct IMAPSessionFailureTests {
    @Test func wrongPasswordIsAnAuthenticationFailureWithoutThePassword() async throws {
        let server = try LiveDovecot.fromEnvironment()
        let account = try server.newAccount("badpw")
        let wrong = Secret("Wrong-\(UUID().uuidString)")
        let connection = try await IMAPConnection(endpoint: server.endpoint(account, password: wrong))
        defer { connection.close() }
        let outcome = await Result { try await connection.run { try $0.examine("INBOX") } }
        #expect(outcome.errorCode == .authenticationFailed)
        let text = "\(outcome)"
        #expect(!text.contains(wrong.value) && !text.contains(account.password.value))
    }

    @Test func closedPortFailsToConnectQuickly() async throws {
        let closed = try ClosedLoopbackPort()
        let endpoint = IMAPEndpoint(host: "127.0.0.1", port: closed.port, security: .starttls, username: "nobody",
                                    password: Secret("secret-value"), connectTimeout: .seconds(5),
                                    policy: try LiveDovecot.fromEnvironment().policy)
        let connection = try await IMAPConnection(endpoint: endpoint)
        defer { connection.close() }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await Result { try await connection.run { try $0.capabilities() } }
        #expect(outcome.errorCode == .connectFailed)
        #expect(clock.now - started < .seconds(5))
        #expect(!"\(outcome)".contains("secret-value"))
    }

    @Test func silentServerTimesOut() async throws {
        // A listener that never accepts: the kernel completes the handshake, no greeting comes.
        let listener = try SilentListener()
        defer { listener.close() }
        let endpoint = IMAPEndpoint(host: "127.0.0.1", port: listener.port, security: .tls, username: "u",
                                    password: Secret("p"), connectTimeout: .seconds(1), ioTimeout: .seconds(1),
                                    policy: try LiveDovecot.fromEnvironment().policy)
        let connection = try await IMAPConnection(endpoint: endpoint)
        defer { connection.close() }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await Result { try await connection.run { try $0.capabilities() } }
        #expect(outcome.errorCode == .timeout, "\(outcome)")
        #expect(clock.now - started < .seconds(10), "a 1 s timeout ends the wait, not a hang (generous for a loaded machine)")
    }

    @Test func selfSignedCertificateFailsWhenVerified() async throws {
        let server = try LiveDovecot.fromEnvironment()
        let account = try server.newAccount("verify")
        for security in [TransportSecurity.tls, .starttls] {
            let connection = try await IMAPConnection(endpoint: server.endpoint(account, security: security, verifyTLS: true))
            defer { connection.close() }
            let outcome = await Result { try await connection.run { try $0.capabilities() } }
            #expect(outcome.errorCode == .tlsFailed, "\(security): \(outcome)")
        }
    }

    @Test func uidValidityChangeIsDetected() async throws {
        let (server, account, connection) = try await connect("uidvalidity")
        defer { connection.close() }
        let message = testMessage(subject: "epoch")
        let (uid, before, firstFetch) = try await connection.run { session in
            let uid = try session.append("INBOX", message: message)!
            let status = try session.examine("INBOX")
            return (uid, status.uidValidity, try session.fetchMessage("INBOX", uid: uid, uidValidity: status.uidValidity))
        }
        #expect(firstFetch == message)

        // The session has INBOX selected: Dovecot sends it BYE and drops the connection, which the
        // next command meets as a dead pooled connection and retries on a new one.
        let newValidity = before.rawValue &+ 7
        try server.doveadm(["mailbox", "update", "--uid-validity", "\(newValidity)", "-u", account.username, "INBOX"])

        let (after, stale, fresh) = try await connection.run { session in
            let after = try session.examine("INBOX")
            let stale = Result { try session.fetchMessage("INBOX", uid: uid, uidValidity: before) }
            let fresh = try session.fetchMessage("INBOX", uid: uid, uidValidity: after.uidValidity)
            return (after, stale.errorCode, fresh)
        }
        #expect(after.uidValidity == UIDValidity(newValidity))
        #expect(stale == .uidValidityChanged)
        #expect(fresh == message)
    }

    @Test func droppedConnectionIsRetriedOnce() async throws {
        let (server, account, connection) = try await connect("kick")
        defer { connection.close() }
        try await connection.run { session in
            try session.append("INBOX", message: testMessage(subject: "k"))
        }
        try server.doveadm(["kick", account.username])
        let status = try await connection.run { try $0.examine("INBOX") }
        #expect(status.exists == 1)
    }

    @Test func missingFolderIsReportedAsSuch() async throws {
        let (_, _, connection) = try await connect("nofolder")
        defer { connection.close() }
        let outcomes = try await connection.run { session in
            [Result { try session.searchUIDs("Nope", after: nil) }.errorCode,
             Result { try session.fetchMessage("Nope", uid: UID(1)) }.errorCode,
             Result { try session.examine("Nope") }.errorCode,
             Result { try session.append("Nope", message: testMessage(subject: "x")) }.errorCode]
        }
        #expect(outcomes == [.noSuchFolder, .noSuchFolder, .noSuchFolder, .noSuchFolder])
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A loopback port nothing listens on: bound once by the kernel's choice, then released.
/// A loopback TCP socket that listens but never accepts.
final class SilentListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard fd >= 0, bound == 0, listen(fd, 4) == 0 else {
            throw LiveDovecot.Unavailable(description: "cannot listen on loopback")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
