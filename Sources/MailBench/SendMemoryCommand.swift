import ArgumentParser
import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting

/// `mailroom-bench memory-send`: the extra resident memory of a `mailroom worker` sending one email
/// with a large attachment, as a multiple of the attachment's size (target ≤ 4×).
///
/// Setup (unmeasured): a fresh database, a tenant whose group account submits to the test Postfix
/// (`BenchSender`), one worker process with one slot, and a small email sent first so that every
/// code path of a send (libpq, GMime, libcurl, TLS) is warm. Then the worker's peak RSS is reset
/// (`/proc/PID/clear_refs` ← 5) and its resident memory read (`VmRSS`); the email with the random
/// binary attachment is queued (by this process) and the worker loads, composes and submits it as it
/// does any email; once it is Sent the worker's peak (`VmHWM`) minus the RSS before is the extra
/// it needed. The message must then arrive in the recipient's mailbox.
struct SendMemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory-send",
        abstract: "Peak extra RSS of a worker sending one large attachment, against its size.")

    @Option(help: "Size of the attachment in MiB.") var mebibytes = 25
    @Option(help: "Target: extra RSS at most this multiple of the attachment (reported, not enforced).") var targetMultiple = 4.0
    @Option(help: "The mailroom executable (default: beside this one).") var mailroom: String?

    func run() async throws {
        let server = try TestMailServer.fromEnvironment()
        let key = try SecretKey.fromEnvironment()
        let binary = mailroom ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mailroom").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw BenchFailure("no mailroom executable at \(binary)") }
        let (url, dbName, pool) = try await TestDatabase.createMigratedDatabase(connections: 2, applicationName: "mailroom-bench")
        let sender = try server.createMailbox(prefix: "bench-memsend-from")
        let recipient = try server.createMailbox(prefix: "bench-memsend-to")
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-bench-memory-send-\(getpid())").path
        let fleet = WorkerFleet(binary: binary, logDirectory: logs)
        var failure: (any Error)?
        do {
            let bench = try await BenchSender.provision(server: server, key: key, pool: pool, sender: sender, slugPrefix: "bench-memsend",
                                                        maxConnections: 1)
            try await fleet.start(count: 1, databaseURL: url, migrations: TestDatabase.migrationsDirectory, slots: 1, perTenantCap: 1)
            try await measure(bench, pool: pool, server: server, recipient: recipient, worker: fleet.pid(0))
        } catch {
            failure = error
        }
        fleet.stop()
        pool.close()
        try? await TestDatabase.dropDatabase(dbName)
        for box in [sender, recipient] { try? server.removeMailbox(box) }
        if let failure {
            print("worker log in \(logs)")
            throw failure
        }
        try? FileManager.default.removeItem(atPath: logs)
    }

    private func measure(_ bench: BenchSender, pool: PostgresPool, server: TestMailServer, recipient: TestMailbox, worker: Int32) async throws {
        let warmUp = EmailDraft(account: bench.account, user: bench.user, to: [recipient.address], subject: "warm-up", text: "Hello",
                                attachments: [.init(filename: "small.bin", contentType: "application/octet-stream", data: MemoryCommand.randomBytes(64 << 10, seed: 2_500))])
        let warm = try await sendAndWait(warmUp, bench, pool: pool)
        if let error = warm.error { throw BenchFailure("the warm-up email was not sent: \(error)") }

        let size = mebibytes << 20
        let draft = EmailDraft(account: bench.account, user: bench.user, to: [recipient.address], subject: "Large attachment",
                               text: "The scan is attached.",
                               attachments: [.init(filename: "scan.bin", contentType: "application/octet-stream", data: MemoryCommand.randomBytes(size, seed: 2_501))])
        try ProcessMemory.resetPeak(pid: worker)
        let before = try ProcessMemory.read(pid: worker)
        let (elapsed, error) = try await sendAndWait(draft, bench, pool: pool)
        let after = try ProcessMemory.read(pid: worker)
        print("attachment: \(MemoryCommand.mib(size)) MiB; queued → done in \(elapsed); the worker's memory:")
        ProcessMemory.report(before: before, after: after, size: size, of: "the attachment", during: "the send", target: targetMultiple)
        // A server whose size limit is below the message refuses it at MAIL FROM (SIZE=, RFC 1870):
        // loading and composing were measured, the transfer of the data was not.
        if let error { throw BenchFailure("the email was not sent (figures above cover loading and composing only): \(error)") }
        guard try await Eventually.until(timeout: .seconds(120), { (try? server.messageCount(recipient)) ?? 0 >= 2 }) else {
            throw BenchFailure("the large message did not arrive")
        }
        print("the message arrived in the recipient's mailbox")
    }

    /// Queues `draft` and waits until the worker has sent it or given up; returns the time that took
    /// and, when it failed, the email's `send_error`.
    private func sendAndWait(_ draft: EmailDraft, _ bench: BenchSender, pool: PostgresPool) async throws -> (Duration, error: String?) {
        let tenant = bench.tenant
        let start = ContinuousClock.now
        let id = try await pool.transaction(tenant: tenant) { try EmailQueries.emailQueue($0, tenant: tenant, draft) }
        var (status, error) = ("Sending", String?.none)
        guard try await Eventually.until(timeout: .seconds(300), interval: .milliseconds(20), {
            (status, error) = try await pool.transaction(tenant: tenant) { conn in
                let row = try conn.query("SELECT status, send_error FROM email WHERE id = \(id)").one()
                return (try row.decode(String.self, at: 0), try row.decode(String?.self, at: 1))
            }
            return status != "Sending"
        }) else { throw BenchFailure("email \(id) still Sending after 300 s (\(error ?? "no error"))") }
        return (ContinuousClock.now - start, status == "Sent" ? nil : "email \(id) ended \(status): \(error ?? "no error")")
    }
}
