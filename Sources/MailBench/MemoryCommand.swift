import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
import MailWorker

/// `mailroom-bench memory`: the extra resident memory of importing one large message, as a multiple
/// of its size (target ≤ 4×).
///
/// The message (one text part and a random binary attachment, base64) is generated and delivered
/// to a fresh Dovecot mailbox, then every buffer of the setup is dropped and the kernel's record of
/// this process's peak RSS is reset (`/proc/self/clear_refs` ← 5, Linux ≥ 4.0). The import then
/// runs as the worker does (`ImportRunner.pollAccountUntilIdle`, default settings); the peak RSS it
/// reaches (`VmHWM`) minus the RSS before it (`VmRSS`) is the extra it needed.
struct MemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Peak extra RSS of importing one large message, against its size.")

    @Option(help: "Size of the message in MiB (the default per-account limit is 25 MiB).")
    var mebibytes = 24

    @Option(help: "Target: extra RSS at most this multiple of the message size (reported, not enforced).")
    var targetMultiple = 4.0

    func run() async throws {
        let bench = try await BenchImport.fromEnvironment()
        let (server, pool, runner) = (bench.server, bench.pool, bench.runner)
        let mailbox = try server.createMailbox(prefix: "bench-memory")
        let size: Int
        do {
            let message = Self.message(bytes: mebibytes << 20)
            size = message.count
            try server.deliverToMaildir(mailbox, messages: [message])
        }
        let tenant = try await bench.provisioner.tenant(mailbox: mailbox)
        let account = try await bench.provisioner.account(of: tenant)

        try ProcessMemory.resetPeak()
        let before = try ProcessMemory.read()
        let start = ContinuousClock.now
        let reports = await runner.pollAccountUntilIdle(account)
        let elapsed = ContinuousClock.now - start
        let after = try ProcessMemory.read()
        if let error = reports.compactMap(\.error).first { throw BenchFailure("import failed: \(error)") }
        let stored = try await pool.transaction(tenant: tenant) { try EmailQueries.emailCount($0, tenant: tenant) }
        guard stored == 1 else { throw BenchFailure("\(stored) emails stored, expected 1") }

        print("message: \(Self.mib(size)) MiB; import took \(elapsed)")
        ProcessMemory.report(before: before, after: after, size: size, of: "the message", during: "import", target: targetMultiple)
    }

    /// A message of about `bytes` octets: a short text part and one random binary attachment.
    static func message(bytes: Int) -> [UInt8] {
        let blob = randomBytes(bytes * 3 / 4 - 4096, seed: 25)
        let base64 = Data(blob).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let text = "From: Big Sender <big@example.net>\r\nTo: support@example.com\r\nSubject: Large attachment\r\n"
            + "Message-ID: <memory-\(bytes)@bench.test>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + "The scan is attached.\r\n--big\r\nContent-Type: application/octet-stream; name=\"scan.bin\"\r\n"
            + "Content-Disposition: attachment; filename=\"scan.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64 + "\r\n--big--\r\n"
        return Array(text.utf8)
    }

    /// `count` pseudo-random bytes, the same for the same seed.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var blob = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            var word = rng.next()
            for j in i..<min(i + 8, count) { blob[j] = UInt8(truncatingIfNeeded: word); word >>= 8 }
        }
        return blob
    }

    static func mib(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576) }
    static func fixed(_ value: Double) -> String { String((value * 10).rounded() / 10) }
}

/// A process's resident memory as the kernel reports it in `/proc/PID/status` (this process's by default).
enum ProcessMemory {
    struct Reading {
        /// `VmRSS`: resident now.
        var resident: Int
        /// `VmHWM`: the peak since start or the last `resetPeak`.
        var peak: Int
    }

    static func read(pid: Int32? = nil) throws -> Reading {
        let status = try String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8)
        func kibibytes(_ key: String) throws -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }),
                let value = Int(line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ")[0])
            else { throw BenchFailure("no \(key) in /proc/\(pid.map(String.init) ?? "self")/status") }
            return value * 1024
        }
        return Reading(resident: try kibibytes("VmRSS"), peak: try kibibytes("VmHWM"))
    }

    /// Prints the extra RSS (peak after minus resident before) as a multiple of `size`, against `target`.
    static func report(before: Reading, after: Reading, size: Int, of what: String, during: String, target: Double) {
        let extra = max(0, after.peak - before.resident)
        let multiple = Double(extra) / Double(size)
        print("RSS before \(MemoryCommand.mib(before.resident)) MiB, peak during \(during) \(MemoryCommand.mib(after.peak)) MiB, "
            + "extra \(MemoryCommand.mib(extra)) MiB = \(MemoryCommand.fixed(multiple))× \(what)")
        print("target extra RSS ≤ \(MemoryCommand.fixed(target))× \(what): \(multiple <= target ? "met" : "NOT met")")
    }

    /// Resets `VmHWM` to the current RSS (proc(5), `clear_refs`: 5).
    static func resetPeak(pid: Int32? = nil) throws {
        let path = "/proc/\(pid.map(String.init) ?? "self")/clear_refs"
        guard FileManager.default.createFile(atPath: path, contents: Data("5".utf8)) ||
            (try? "5".write(toFile: path, atomically: false, encoding: .utf8)) != nil
        else { throw BenchFailure("cannot reset the peak RSS (\(path))") }
    }
}
