import Foundation
import MailCore
import Testing
@testable import MailTransport

/// `NetworkConnection` with TLS: STARTTLS and implicit TLS against the real Dovecot (a self-signed
/// certificate for `localhost` and `127.0.0.1`), and `openssl s_server` with certificates of a test
/// CA for the verification failures. Nothing connects anywhere but loopback.
@Suite struct TLSConnectionTests {
    @Test func starttlsUpgradesThePlainConnection() throws {
        let server = try LiveDovecot.fromEnvironment()
        var options = NetworkConnection.Options.plain(server.host, port: server.starttlsPort)
        options.verifyTLS = false
        let connection = try NetworkConnection.connect(options, outbound: .testing(server.policy, host: server.host))
        defer { connection.close() }
        #expect(try connection.readLine().hasPrefix("* OK"))
        try connection.write(Array("a1 STARTTLS\r\n".utf8))
        #expect(try connection.readUntil("\r\n").hasPrefix("a1 OK"))
        try connection.startTLS()
        #expect(connection.isTLS)
        try connection.write(Array("a2 CAPABILITY\r\n".utf8))
        let capabilities = try connection.readUntil("a2 ")
        #expect(capabilities.contains("* CAPABILITY") && !capabilities.contains("STARTTLS"), "\(capabilities)")
        #expect(Result { try connection.startTLS() }.errorCode == .tlsFailed)
    }

    @Test func implicitTLSWithoutVerification() throws {
        let server = try LiveDovecot.fromEnvironment()
        let connection = try NetworkConnection.connect(.implicitTLS(server.host, port: server.imapsPort, verify: false),
                                                       outbound: .testing(server.policy, host: server.host))
        defer { connection.close() }
        #expect(connection.isTLS)
        #expect(try connection.readLine().hasPrefix("* OK"))
    }

    /// The system store does not trust Dovecot's self-signed certificate.
    @Test func systemStoreRefusesTheSelfSignedCertificate() throws {
        let server = try LiveDovecot.fromEnvironment()
        let outcome = Result {
            try NetworkConnection.connect(.implicitTLS("localhost", port: server.imapsPort),
                                          outbound: .testing(server.policy, host: "localhost"))
        }
        #expect(outcome.errorCode == .tlsFailed)
        #expect("\(outcome)".contains("certificate verify failed: self-signed certificate"), "\(outcome)")
    }

    /// Trusting Dovecot's certificate through the CA file verifies it, for its DNS name and its IP
    /// address alike (it carries both).
    @Test(arguments: ["localhost", "127.0.0.1"])
    func caFileTrustsTheServersCertificate(_ host: String) throws {
        let server = try LiveDovecot.fromEnvironment()
        var options = NetworkConnection.Options.implicitTLS(host, port: server.imapsPort)
        options.trust = try TLSTrust.fromEnvironment([TLSTrust.caFileVariable: server.certificateFile()])
        let connection = try NetworkConnection.connect(options, outbound: .testing(server.policy, host: host))
        defer { connection.close() }
        #expect(try connection.readLine().hasPrefix("* OK"))
    }

    @Test func unreadableCAFileIsASettingError() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID().uuidString).pem").path
        #expect(throws: SettingError.self) { try TLSTrust.fromEnvironment([TLSTrust.caFileVariable: missing]) }
        #expect(try TLSTrust.fromEnvironment([:]) == TLSTrust())
    }

    /// After LOGOUT Dovecot ends TLS with close_notify: the read returns 0. Writing afterwards
    /// fails with `.connectionLost`, without SIGPIPE.
    @Test func closeNotifyEndsTheStreamAndLaterWritesFail() throws {
        let server = try LiveDovecot.fromEnvironment()
        let connection = try NetworkConnection.connect(.implicitTLS(server.host, port: server.imapsPort, verify: false),
                                                       outbound: .testing(server.policy, host: server.host))
        defer { connection.close() }
        _ = try connection.readLine()
        try connection.write(Array("a1 LOGOUT\r\n".utf8))
        #expect(try connection.readToEnd().contains("a1 OK"))
        let outcome = Result { for _ in 0..<1000 { try connection.write(Array(repeating: UInt8(ascii: "x"), count: 16384)) } }
        #expect(outcome.errorCode == .connectionLost, "\(outcome)")
    }

    /// Certificates of a test CA served by `openssl s_server`: each row is the leaf, the host
    /// connected to, whether the CA is trusted, and the verification error expected (nil: success).
    @Test(arguments: [
        ("localhost", "localhost", true, nil),
        ("localhost", "127.0.0.1", true, "IP address mismatch"),
        ("other", "localhost", true, "hostname mismatch"),
        ("expired", "localhost", true, "certificate has expired"),
        ("localhost", "localhost", false, "unable to get local issuer certificate"),
    ] as [(String, String, Bool, String?)])
    func verification(leaf: String, host: String, trustCA: Bool, failure: String?) throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try certificates.issue("localhost", subjectAltName: "DNS:localhost")
        try certificates.issue("other", subjectAltName: "DNS:mail.example.test")
        try certificates.issue("expired", subjectAltName: "DNS:localhost", start: "20200101000000Z", end: "20200102000000Z")
        let server = try TestTLSServer(certificates, leaf: leaf)
        defer { server.stop() }
        var options = NetworkConnection.Options.implicitTLS(host, port: server.port)
        options.ioTimeout = .milliseconds(300)
        if trustCA { options.trust = TLSTrust(extraCAFile: certificates.caFile) }
        let outcome = Result {
            try NetworkConnection.connect(options, outbound: .testing(NetworkConnectionTests.loopback, host: host))
        }
        if let failure {
            #expect(outcome.errorCode == .tlsFailed)
            #expect("\(outcome)".contains("certificate verify failed: \(failure)"), "\(outcome)")
        } else {
            let connection = try outcome.get()
            defer { connection.close() }
            #expect(connection.isTLS)
            // s_server never speaks first: the read waits out the I/O timeout.
            var buffer: [UInt8] = []
            #expect(Result { try connection.read(into: &buffer, max: 10) }.errorCode == .timeout)
        }
    }

    /// A TLS peer that vanishes without close_notify (killed) cuts the stream: that is a lost
    /// connection, not an end of data (RFC 8446 §6.1: a truncation cannot be told from an attack).
    @Test func tlsStreamCutWithoutCloseNotifyIsLost() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        try certificates.issue("localhost", subjectAltName: "DNS:localhost")
        let server = try TestTLSServer(certificates, leaf: "localhost")
        defer { server.stop() }
        var options = NetworkConnection.Options.implicitTLS("localhost", port: server.port)
        options.trust = TLSTrust(extraCAFile: certificates.caFile)
        let connection = try NetworkConnection.connect(
            options, outbound: .testing(NetworkConnectionTests.loopback, host: "localhost"))
        defer { connection.close() }
        server.kill()
        var buffer: [UInt8] = []
        let outcome = Result { try connection.read(into: &buffer, max: 10) }
        #expect(outcome.errorCode == .connectionLost, "\(outcome)")
    }

    /// A listener that never answers the client hello: connect plus handshake run out of the
    /// connect timeout.
    @Test func silentTLSPeerTimesOutTheHandshake() throws {
        let listener = try CountingListener()
        defer { listener.close() }
        var options = NetworkConnection.Options.implicitTLS("127.0.0.1", port: listener.port)
        options.connectTimeout = .milliseconds(300)
        let outcome = Result {
            try NetworkConnection.connect(options, outbound: .testing(NetworkConnectionTests.loopback, host: "127.0.0.1"))
        }
        #expect(outcome.errorCode == .timeout, "\(outcome)")
        #expect(listener.acceptedConnections() == 1)
    }

    /// Bytes the server sent after its STARTTLS response and before the handshake could have been
    /// injected by anyone on the path: the upgrade refuses them.
    @Test func bytesBeforeTheHandshakeAreRefused() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let connection = try NetworkConnectionTests.connectToLoopback(port: listener.port)
        defer { connection.close() }
        let peer = accept(listener.fd, nil, nil)
        defer { _ = Glibc.close(peer) }
        let injected = Array("* OK injected\r\n".utf8)
        #expect(Glibc.write(peer, injected, injected.count) == injected.count)
        var ready = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 10_000) == 1)
        let outcome = Result { try connection.startTLS() }
        #expect(outcome.errorCode == .tlsFailed)
        #expect("\(outcome)".contains("the server sent data before the TLS handshake"), "\(outcome)")
    }
}

extension NetworkConnection.Options {
    /// Implicit TLS, verified unless `verify` is false, short timeouts.
    static func implicitTLS(_ host: String, port: Int, verify: Bool = true) -> Self {
        Self(host: host, port: port, implicitTLS: true, verifyTLS: verify, connectTimeout: .seconds(10),
             ioTimeout: .seconds(10))
    }
}

extension LiveDovecot {
    /// The server's certificate, as its configuration names it (`ssl_cert = <file`).
    func certificateFile() throws -> String {
        let configuration = try String(contentsOfFile: configPath, encoding: .utf8)
        guard let line = configuration.split(separator: "\n").first(where: { $0.hasPrefix("ssl_cert") }),
            let file = line.split(separator: "<", maxSplits: 1).last
        else { throw Unavailable(description: "no ssl_cert in \(configPath)") }
        return file.trimmingCharacters(in: .whitespaces)
    }
}
