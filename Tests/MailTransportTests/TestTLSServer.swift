import Foundation
import MailTesting

/// Certificates made with the `openssl` command line in a temporary directory: a test CA, and leaf
/// certificates it signs. Removed with `remove()`.
struct TestCertificates {
    let directory: URL

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// A new CA (`ca.pem`) in a new temporary directory.
    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=Mailroom Test CA"])
        try Data("""
            [ca]
            default_ca = test
            [test]
            database = \(file("index.txt"))
            new_certs_dir = \(directory.path)
            serial = \(file("serial"))
            default_md = sha256
            policy = any
            copy_extensions = copy
            [any]
            commonName = supplied

            """.utf8).write(to: path("ca.cnf"))
        try Data().write(to: path("index.txt"))
        try Data("01\n".utf8).write(to: path("serial"))
    }

    var caFile: String { file("ca.pem") }

    func path(_ name: String) -> URL { directory.appendingPathComponent(name) }
    func file(_ name: String) -> String { path(name).path }

    /// A leaf certificate `name.pem` (key `name.key`) for `subjectAltName` (e.g. `DNS:localhost`),
    /// signed by the CA and valid from `start` to `end` (`YYYYMMDDHHMMSSZ`; default: now, two days).
    func issue(_ name: String, subjectAltName: String, start: String? = nil, end: String? = nil) throws {
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("\(name).key"),
                     "-out", file("\(name).csr"), "-subj", "/CN=\(name)", "-addext", "subjectAltName=\(subjectAltName)"])
        var dates = ["-days", "2"]
        if let start, let end { dates = ["-startdate", start, "-enddate", end] }
        try openssl(["ca", "-batch", "-notext", "-config", file("ca.cnf"), "-cert", file("ca.pem"), "-keyfile", file("ca.key"),
                     "-in", file("\(name).csr"), "-out", file("\(name).pem")] + dates)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    private func openssl(_ arguments: [String]) throws {
        _ = try CommandRunner.check(CommandRunner.locate("openssl") ?? "openssl", arguments)
    }
}

/// `openssl s_server` on a free loopback port with one of `TestCertificates`' leaves. Ready once it
/// printed the port it accepts on; `stop()` terminates it (call it in a `defer`).
final class TestTLSServer {
    let port: Int
    private let process: Process

    init(_ certificates: TestCertificates, leaf: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
                             "-cert", "\(leaf).pem", "-key", "\(leaf).key"]
        process.currentDirectoryURL = certificates.directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = Pipe()
        try process.run()
        // s_server prints "ACCEPT 127.0.0.1:PORT" once it listens; it exits (EOF) if it cannot.
        var text = ""
        while Self.acceptedPort(text) == nil {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                process.waitUntilExit()
                throw TestCertificates.Failed(description: "openssl s_server did not start: \(text)")
            }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let port = Self.acceptedPort(text)!
        self.port = port
    }

    /// The port of a complete `ACCEPT host:port` line in `text`.
    private static func acceptedPort(_ text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // the last may be partial
        return lines.first { $0.hasPrefix("ACCEPT ") }.flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
    }

    /// Ends the server at once with SIGKILL: its sockets close without TLS close_notify.
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
