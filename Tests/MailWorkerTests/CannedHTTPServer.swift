import Foundation
import Synchronization

/// A loopback HTTP server that answers every request with one fixed JSON body: an endpoint a test
/// needs to say something the real test servers never say (a device code the token server never
/// issued), or a collector that keeps what it was sent (`requests`). Closed when it goes out of scope.
final class CannedHTTPServer: @unchecked Sendable {
    /// One request as received: its request line's path and its body.
    struct Request: Sendable { var path: String; var body: [UInt8] }

    let port: Int
    private let fd: Int32
    private let received = Received()

    /// Every complete request received so far, in order.
    var requests: [Request] { received.all.withLock { $0 } }

    private final class Received: Sendable { let all = Mutex<[Request]>([]) }

    init(json: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackHTTP.Failure("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { close(fd); throw LoopbackHTTP.Failure("bind/listen failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        let received = self.received
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\nConnection: close\r\n\r\n\(json)"
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 8192)
                var request = [UInt8]()
                // The whole request (headers and form body) before answering: closing a socket with
                // unread bytes resets the connection.
                while !CannedHTTPServer.isComplete(request) {
                    let n = recv(client, &buffer, buffer.count, 0)
                    if n <= 0 { break }
                    request += buffer[0..<n]
                }
                if let head = request.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let line = String(decoding: request[..<head.lowerBound], as: UTF8.self).split(separator: " ")
                    let path = line.count > 1 ? String(line[1]) : ""
                    received.all.withLock { $0.append(Request(path: path, body: Array(request[head.upperBound...]))) }
                }
                _ = response.withCString { send(client, $0, strlen($0), 0) }
                close(client)
            }
        }
    }

    static func isComplete(_ data: [UInt8]) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let length = text[..<split.lowerBound].split(separator: "\r\n").compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first ?? 0
        return text.utf8.count - text[..<split.upperBound].utf8.count >= length
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}
