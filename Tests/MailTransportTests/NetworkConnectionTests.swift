import Foundation
import MailCore
import MailTesting
import Testing
@testable import MailTransport

/// `NetworkConnection` over plain TCP: the real Dovecot, and loopback sockets the test controls
/// for the failure cases. Nothing connects anywhere but loopback.
@Suite struct NetworkConnectionTests {
    @Test func plainConnectionReadsTheGreetingAndLogsOut() throws {
        let server = try LiveDovecot.fromEnvironment()
        let connection = try NetworkConnection.connect(.plain(server.host, port: server.starttlsPort),
                                                       outbound: .testing(server.policy, host: server.host))
        defer { connection.close() }
        #expect(!connection.isTLS)
        let greeting = try connection.readLine()
        #expect(greeting.hasPrefix("* OK"), "\(greeting)")
        try connection.write(Array("a1 LOGOUT\r\n".utf8))
        let rest = try connection.readToEnd()
        #expect(rest.contains("* BYE") && rest.contains("a1 OK"), "\(rest)")
    }

    /// An IPv6 literal in brackets, as account settings write it, reaches an IPv6 listener.
    @Test func bracketedIPv6LiteralConnects() throws {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = Glibc.close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound && listen(fd, 1) == 0)
        let options = NetworkConnection.Options.plain("[::1]", port: Int(UInt16(bigEndian: address.sin6_port)))
        let connection = try NetworkConnection.connect(options, outbound: .testing(Self.loopback, host: "[::1]"))
        defer { connection.close() }
        let peer = accept(fd, nil, nil)
        defer { _ = Glibc.close(peer) }
        try connection.write(Array("a1 NOOP\r\n".utf8))
        var received = [UInt8](repeating: 0, count: 64)
        #expect(recv(peer, &received, received.count, 0) == 9)
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func refusedDestinationIsNeverConnected(_ host: String) throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let elsewhere = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "10.9.0.0/16,mail.internal.example"])
        let outcome = Result {
            try NetworkConnection.connect(.plain(host, port: listener.port), outbound: .testing(elsewhere, host: host))
        }
        #expect(outcome.errorCode == .hostRefused)
        #expect("\(outcome)".contains("host \"\(host)\" refused: address class loopback, not in MAILROOM_ALLOWED_HOSTS"),
                "\(outcome)")
        #expect(listener.acceptedConnections() == 0)
    }

    /// DNS rebinding: the guard's resolver answers an allowed address, but the connection judges
    /// the addresses it resolves itself and would connect to.
    @Test func aResolverAnsweringDifferentlyCannotSneakThrough() throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let policy = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.77/32"])
        let answersAllowed = HostResolver { _ in [IPAddress(literal: "127.0.0.77")!] }
        let gate = OutboundGuard(policy: policy, host: "localhost", insecureUse: nil, resolver: answersAllowed, service: "IMAP")
        let outcome = Result { try NetworkConnection.connect(.plain("localhost", port: listener.port), outbound: gate) }
        #expect(outcome.errorCode == .hostRefused, "\(outcome)")
        #expect(listener.acceptedConnections() == 0)
    }

    /// Unverified TLS needs the insecure list even when the guard was made without naming it.
    @Test func unverifiedTLSNeedsTheInsecureList() throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let loopbackOnly = try OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.1/32"])
        var options = NetworkConnection.Options.plain("127.0.0.1", port: listener.port)
        options.verifyTLS = false
        let outcome = Result { try NetworkConnection.connect(options, outbound: .testing(loopbackOnly, host: "127.0.0.1")) }
        #expect(outcome.errorCode == .hostRefused)
        #expect("\(outcome)".contains("refused: unverified TLS, not in MAILROOM_INSECURE_HOSTS"), "\(outcome)")
        #expect(listener.acceptedConnections() == 0)
    }

    /// A listener that accepts (its backlog does) but never speaks: the read gives up after the I/O
    /// timeout.
    @Test func silentPeerTimesOutTheRead() throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let connection = try Self.connectToLoopback(port: listener.port) { $0.ioTimeout = .milliseconds(300) }
        defer { connection.close() }
        var buffer: [UInt8] = []
        let outcome = Result { try connection.read(into: &buffer, max: 100) }
        #expect(outcome.errorCode == .timeout, "\(outcome)")
        #expect(buffer.isEmpty)
        #expect(listener.acceptedConnections() == 1)
    }

    /// A peer that never reads: once the socket buffers are full the write waits out the I/O
    /// timeout.
    @Test func peerThatNeverReadsTimesOutTheWrite() throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let connection = try Self.connectToLoopback(port: listener.port) { $0.ioTimeout = .milliseconds(300) }
        defer { connection.close() }
        let outcome = Result { for _ in 0..<1000 { try connection.write(Array(repeating: 0, count: 1 << 20)) } }
        #expect(outcome.errorCode == .timeout, "\(outcome)")
    }

    @Test func closedPortFailsToConnect() throws {
        let closed = try ClosedLoopbackPort()
        let port = closed.port
        let outcome = Result { try Self.connectToLoopback(port: port) }
        #expect(outcome.errorCode == .connectFailed, "\(outcome)")
        #expect("\(outcome)".contains("could not connect to 127.0.0.1 port \(port)"), "\(outcome)")
    }

    @Test func peerClosingMidStreamEndsTheStream() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let connection = try Self.connectToLoopback(port: listener.port)
        defer { connection.close() }
        let peer = accept(listener.fd, nil, nil)
        try #require(peer >= 0)
        let partial = Array("* OK partial".utf8)
        #expect(Glibc.write(peer, partial, partial.count) == partial.count)
        _ = Glibc.close(peer)
        var buffer: [UInt8] = []
        while try connection.read(into: &buffer, max: 4) > 0 {}
        #expect(buffer == partial)
        #expect(try connection.read(into: &buffer, max: 4) == 0)
    }

    /// Writing to a peer that reset the connection fails with `.connectionLost`; the process gets
    /// no SIGPIPE (it would die of it).
    @Test func writingToAClosedPeerLosesTheConnection() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let connection = try Self.connectToLoopback(port: listener.port)
        defer { connection.close() }
        resetByPeer(listener)
        let outcome = Result {
            // The first send may still be accepted locally; the reset shows on a later one.
            for _ in 0..<1000 { try connection.write(Array(repeating: UInt8(ascii: "x"), count: 65536)) }
        }
        #expect(outcome.errorCode == .connectionLost, "\(outcome)")
    }

    @Test func closedConnectionRefusesReadsAndWrites() throws {
        let listener = try CountingListener()
        defer { listener.close() }
        let connection = try Self.connectToLoopback(port: listener.port)
        connection.close()
        connection.close()
        var buffer: [UInt8] = []
        #expect(Result { try connection.read(into: &buffer, max: 10) }.errorCode == .connectionLost)
        #expect(Result { try connection.write([1]) }.errorCode == .connectionLost)
    }

    static let loopback = try! OutboundPolicy.fromEnvironment(["MAILROOM_ALLOWED_HOSTS": "127.0.0.1/32,::1/128,localhost"])

    /// A plain connection to `127.0.0.1`:`port` under a policy that allows loopback.
    static func connectToLoopback(port: Int, _ configure: (inout NetworkConnection.Options) -> Void = { _ in })
        throws(TransportError) -> NetworkConnection
    {
        var options = NetworkConnection.Options.plain("127.0.0.1", port: port)
        configure(&options)
        return try NetworkConnection.connect(options, outbound: .testing(loopback, host: "127.0.0.1"))
    }
}

/// Accepts the pending connection of `listener` and closes it with a reset (SO_LINGER 0).
func resetByPeer(_ listener: SilentListener) {
    let peer = accept(listener.fd, nil, nil)
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(peer, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    _ = Glibc.close(peer)
}

extension NetworkConnection.Options {
    /// Plain TCP, verified TLS should it be upgraded, short timeouts.
    static func plain(_ host: String, port: Int) -> Self {
        Self(host: host, port: port, implicitTLS: false, verifyTLS: true, connectTimeout: .seconds(10), ioTimeout: .seconds(10))
    }
}

extension OutboundGuard {
    /// A guard for an IMAP connection that makes no insecure use of its own.
    static func testing(_ policy: OutboundPolicy, host: String) -> OutboundGuard {
        OutboundGuard(policy: policy, host: host, insecureUse: nil, resolver: .system, service: "IMAP")
    }
}

extension NetworkConnection {
    /// Reads until the buffer holds a CRLF; returns the text so far.
    func readLine() throws -> String {
        var buffer: [UInt8] = []
        while !String(decoding: buffer, as: UTF8.self).contains("\r\n") {
            guard try read(into: &buffer, max: 4096) > 0 else { break }
        }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Reads until the response holds `marker`.
    func readUntil(_ marker: String) throws -> String {
        var buffer: [UInt8] = []
        while !String(decoding: buffer, as: UTF8.self).contains(marker) {
            guard try read(into: &buffer, max: 4096) > 0 else { break }
        }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Reads until the peer closes.
    func readToEnd() throws -> String {
        var buffer: [UInt8] = []
        while try read(into: &buffer, max: 4096) > 0 {}
        return String(decoding: buffer, as: UTF8.self)
    }
}
