import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy for fault tests: forwards every accepted connection to `upstream`, and on
/// command stops forwarding without closing (`stall`), forwards again (`resume`), or cuts every
/// open connection (`cut`). With `hidingCapability`, lines from the server that carry a
/// capability list lose that capability (only readable on connections without TLS).
///
/// One thread per proxied connection: test code, a handful of connections.
public final class FaultProxy: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let hidden: [UInt8]?
    private struct State {
        var stalled = false
        var closed = false
        var sockets: Set<Int32> = []
        var accepted = 0
    }
    private let state = Mutex(State())

    /// Listens on a free loopback port for connections to forward to `127.0.0.1:upstreamPort`.
    public init(upstreamPort: Int, hidingCapability: String? = nil) throws {
        self.upstreamPort = upstreamPort
        hidden = hidingCapability.map { Array(" \($0)".utf8) }
        let fd = socket(AF_INET, Int32(Glibc.SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0, listen(fd, 64) == 0 else {
            Glibc.close(fd)
            throw Failure(description: "cannot listen on a loopback port")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "fault-proxy"
        thread.start()
    }

    /// How many connections the proxy accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// How many proxied connections are open now.
    public var openConnections: Int { state.withLock { $0.sockets.count / 2 } }

    /// Stops forwarding in both directions; connections stay open and silent.
    public func stall() { state.withLock { $0.stalled = true } }

    /// Forwards again (new connections are forwarded meanwhile too only after this).
    public func resume() { state.withLock { $0.stalled = false } }

    /// Closes every open connection (both sides); the proxy keeps accepting new ones.
    public func cut() {
        let sockets = state.withLock { $0.sockets }
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Stops accepting and cuts every connection.
    public func close() {
        state.withLock { $0.closed = true }
        shutdown(listener, Int32(SHUT_RDWR))
        cut()
    }

    deinit { close() }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            let upstream = socket(AF_INET, Int32(Glibc.SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: UInt16(upstreamPort))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let admitted = state.withLock { state -> Bool in
                guard !state.closed, connected == 0 else { return false }
                state.accepted += 1
                state.sockets.formUnion([client, upstream])
                return true
            }
            guard admitted else {
                Glibc.close(client)
                Glibc.close(upstream)
                continue
            }
            let thread = Thread { [self] in pump(client: client, upstream: upstream) }
            thread.name = "fault-proxy-pump"
            thread.start()
        }
        Glibc.close(listener)
    }

    /// Forwards both ways until either side closes.
    private func pump(client: Int32, upstream: Int32) {
        defer {
            state.withLock { $0.sockets.subtract([client, upstream]) }
            Glibc.close(client)
            Glibc.close(upstream)
        }
        var fromServer: [UInt8] = []
        var entries = [pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: upstream, events: Int16(POLLIN), revents: 0)]
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            // While stalled nothing is read: the peers see a silent, open connection. The short
            // poll only bounds how late a resume or cut is noticed.
            if state.withLock({ $0.stalled }) {
                var probe = [pollfd(fd: client, events: 0, revents: 0), pollfd(fd: upstream, events: 0, revents: 0)]
                _ = poll(&probe, 2, 20)
                if probe.contains(where: { $0.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 }) { return }
                continue
            }
            entries[0].revents = 0
            entries[1].revents = 0
            guard poll(&entries, 2, 20) >= 0 || errno == EINTR else { return }
            for (index, entry) in entries.enumerated() where entry.revents != 0 {
                let count = recv(entry.fd, &chunk, chunk.count, 0)
                guard count > 0 else { return }
                let bytes = Array(chunk[..<count])
                if index == 0 {
                    guard sendAll(upstream, bytes) else { return }
                } else if let hidden {
                    fromServer += bytes
                    while let end = fromServer.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = Self.hiding(hidden, in: Array(fromServer[...end]))
                        fromServer.removeSubrange(...end)
                        guard sendAll(client, line) else { return }
                    }
                } else {
                    guard sendAll(client, bytes) else { return }
                }
            }
        }
    }

    /// The line without ` NAME` in its capability list (case as the server sent it).
    static func hiding(_ name: [UInt8], in line: [UInt8]) -> [UInt8] {
        guard String(decoding: line, as: UTF8.self).uppercased().contains("CAPABILITY") else { return line }
        var out: [UInt8] = []
        var index = 0
        while index < line.count {
            let end = index + name.count
            if end <= line.count, Array(line[index..<end]) == name,
                end == line.count || [UInt8(ascii: " "), UInt8(ascii: "]"), UInt8(ascii: "\r")].contains(line[end]) {
                index = end
                continue
            }
            out.append(line[index])
            index += 1
        }
        return out
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }
}
