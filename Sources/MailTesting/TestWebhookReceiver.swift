import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A webhook receiver of one test (`scripts/lib/webhook_receiver.py`): its own process on a free
/// loopback port, recording every request and answering as told (`setMode`). Stopped by its pid with
/// `stop()`, and in `deinit` when a failing test never got there.
public final class TestWebhookReceiver: @unchecked Sendable {  // `process` is set once; `stop` is idempotent
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// One request as the receiver recorded it (header names lower-cased).
    public struct Request: Sendable, Decodable {
        public let path: String
        public let headers: [String: String]
        public let body: String
        /// Unix seconds at arrival.
        public let time: Double
        /// What it answered (0: closed without answering).
        public let status: Int
    }

    /// How it answers the next requests; `count` limits the mode to that many, then it answers 200.
    public enum Mode: Sendable {
        case ok
        case fail(status: Int = 503, fraction: Double = 1, seed: Int = 0)
        case down
        case redirect(status: Int = 302)
        case hang(seconds: Double = 3600)
        case huge(bytes: Int = 4 << 20)
    }

    public let port: Int
    private let process: Process

    /// The receiver's base URL (`http://127.0.0.1:<port>`).
    public var url: String { "http://127.0.0.1:\(port)" }

    /// The receiver script, found relative to this source file.
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/lib/webhook_receiver.py").standardized.path
    }

    /// Starts a receiver and waits for it to listen (its first line names the port).
    public init() throws {
        guard let python = CommandRunner.locate("python3") else { throw Unavailable(description: "python3 is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = [UInt8]()
        while let byte = try out.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            process.waitUntilExit()
            throw Unavailable(description: "webhook_receiver.py did not start: \(text)")
        }
        self.port = port
        self.process = process
    }

    deinit { stop() }

    /// CPU seconds (user and system) the receiver's process has used so far, from `/proc/<pid>/stat`;
    /// nil once it stopped. Benchmarks subtract two readings to tell its share of the machine.
    public var cpuSeconds: Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Stops the receiver (SIGTERM to its pid) and waits for it; safe to call more than once.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    public func setMode(_ mode: Mode, count: Int? = nil) async throws {
        var body: [String: Any]
        switch mode {
        case .ok: body = ["mode": "ok"]
        case .fail(let status, let fraction, let seed): body = ["mode": "fail", "status": status, "fraction": fraction, "seed": seed]
        case .down: body = ["mode": "down"]
        case .redirect(let status): body = ["mode": "redirect", "status": status]
        case .hang(let seconds): body = ["mode": "hang", "delay": seconds]
        case .huge(let bytes): body = ["mode": "huge", "size": bytes]
        }
        if let count { body["count"] = count }
        try await control("POST", "mode", body)
    }

    /// Every request recorded so far (control requests excluded), in arrival order.
    public func requests() async throws -> [Request] {
        try JSONDecoder().decode([Request].self, from: try await control("GET", "requests", nil))
    }

    @discardableResult
    private func control(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Data {
        var request = URLRequest(url: URL(string: "\(url)/control/\(path)")!)
        request.httpMethod = method
        if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw Unavailable(description: "webhook receiver control \(path) failed")
        }
        return data
    }
}
