import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailMIME
import MailStore
import MailTesting
import MailTransport
import MailWorker

/// `mailroom-bench send`: emails per second queued through `mailroom_queue_email` and sent by
/// `mailroom worker` processes through the local Postfix, beside the floor of libcurl submitting the
/// same composed messages alone, in the same run.
///
/// Setup (untimed): a fresh database, one tenant (manifest parser and applier) with a group account
/// submitting as its own mailbox over STARTTLS + AUTH PLAIN to the test Postfix, a fresh recipient
/// mailbox, and `--workers` worker processes (started, then waited for).
/// Each round:
/// - end to end: N drafts queued through `mailroom_queue_email` (`--queuers` connections, one
///   transaction per email, as a CRM would), sent by the workers; timed from the first `queued_at`
///   to the last `sent_at` (database clock). Then every message must reach the recipient's mailbox.
/// - workers draining: the same N drafts queued in one transaction (untimed), timed from its commit
///   to the last Sent: the workers' own rate, without the queueing callers' pace.
/// - floor: the N queued emails re-composed exactly as the worker composes them (same Date and
///   Message-ID; composing is untimed), then submitted by `--workers` × `--smtp-connections`
///   `SMTPConnection`s in parallel (as many as the workers may hold to the account), timed from the
///   first connect to the last acceptance. Then every message must reach the mailbox again.
/// At the end the recipient and sender mailboxes are removed from Dovecot and the database dropped.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Emails/s queued and sent by mailroom workers through Postfix, beside the libcurl-only floor.")

    @Option(help: "Emails per round.") var emails = 2_000
    @Option(help: "Measurement rounds.") var rounds = 1
    @Option(help: "mailroom worker processes.") var workers = 2
    @Option(help: "Job slots per worker.") var slots = 4
    @Option(help: "SMTP connections per worker to the account (its smtp.max_connections and the worker's cap); the floor uses workers × this.")
    var smtpConnections = 3
    @Flag(help: "The --mailroom binary predates --smtp-connections-per-account: its workers use one connection each (and so does the floor).")
    var legacyWorker = false
    @Option(help: "Connections queueing emails concurrently.") var queuers = 4
    @Option(help: "Generator seed.") var seed: UInt64 = 20_250_505
    @Option(help: "The mailroom executable (default: beside this one).") var mailroom: String?
    @Option(help: "Directory for the workers' logs (default: a new temporary directory).") var logDirectory: String?

    func validate() throws {
        guard emails > 0, rounds > 0, workers > 0, slots > 0, queuers > 0 else { throw ValidationError("counts must be positive") }
        guard (1...20).contains(smtpConnections) else { throw ValidationError("--smtp-connections must be between 1 and 20") }
    }

    func run() async throws {
        let server = try TestMailServer.fromEnvironment()
        let key = try SecretKey.fromEnvironment()
        let binary = mailroom ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mailroom").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw BenchFailure("no mailroom executable at \(binary)") }

        let (url, dbName, pool) = try await TestDatabase.createMigratedDatabase(connections: queuers + 2, applicationName: "mailroom-bench")
        let sender = try server.createMailbox(prefix: "bench-send-from")
        let recipient = try server.createMailbox(prefix: "bench-send-to")
        let logs = logDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-bench-send-\(getpid())").path
        let fleet = WorkerFleet(binary: binary, logDirectory: logs)
        var failure: (any Error)?
        do {
            try await measure(server: server, key: key, url: url, pool: pool, sender: sender, recipient: recipient, fleet: fleet)
        } catch {
            failure = error
        }
        let statuses = fleet.stop()
        pool.close()
        try? await TestDatabase.dropDatabase(dbName)
        for box in [sender, recipient] {
            do { try server.removeMailbox(box) } catch { print("could not remove \(box.address): \(error)") }
        }
        print("removed mailboxes \(sender.address) and \(recipient.address); worker exit statuses \(statuses)")
        if let failure {
            print("worker logs in \(logs)")
            throw failure
        }
        if logDirectory == nil { try? FileManager.default.removeItem(atPath: logs) }
    }

    private func measure(server: TestMailServer, key: SecretKey, url: String, pool: PostgresPool, sender: TestMailbox,
                         recipient: TestMailbox, fleet: WorkerFleet) async throws {
        let bench = try await BenchSender.provision(server: server, key: key, pool: pool, sender: sender, slugPrefix: "bench-send",
                                                    maxConnections: smtpConnections)
        let (tenant, account, user) = (bench.tenant, bench.account, bench.user)
        let generator = SendDraftGenerator(seed: seed)
        let drafts = (0..<emails).map {
            generator.draft($0, account: account, user: user, recipient: recipient.address, cc: recipient.address)
        }
        let kinds = Dictionary(grouping: 0..<emails, by: generator.kind(of:)).mapValues(\.count)
        print("drafts: \(emails); " + SendDraftGenerator.Kind.allCases.map { "\($0.rawValue) \(kinds[$0, default: 0])" }.joined(separator: ", ")
            + "; \(drafts.filter { !$0.cc.isEmpty }.count) with a Cc")
        // The Cc names the same mailbox: a second RCPT TO, which Postfix's cleanup folds into one delivery.
        let deliveries = drafts.count

        try await fleet.start(count: workers, databaseURL: url, migrations: TestDatabase.migrationsDirectory, slots: slots,
                              perTenantCap: workers * slots,
                              extraArguments: legacyWorker ? [] : ["--smtp-connections-per-account", "\(smtpConnections)"])
        print("\(workers) workers × \(slots) slots started, \(legacyWorker ? 1 : smtpConnections) SMTP connections per worker "
            + "(logs in \(fleet.logDirectory))")

        var results: [RoundResult] = []
        for round in 1...rounds {
            var r = RoundResult(round: round)
            let before = try server.messageCount(recipient)
            // End to end.
            let wallStart = ContinuousClock.now
            let ids = try await queueAll(drafts, pool: pool, tenant: tenant)
            r.queueing = IngestCommand.seconds(ContinuousClock.now - wallStart)
            try await waitUntilSent(ids, pool: pool, tenant: tenant)
            r.wall = IngestCommand.seconds(ContinuousClock.now - wallStart)
            let (span, bytes, failed) = try await pool.transaction(tenant: tenant) { conn in
                let row = try conn.query("""
                    SELECT extract(epoch FROM max(sent_at) - min(queued_at))::float8, coalesce(sum(size), 0)::bigint,
                           count(*) FILTER (WHERE status <> 'Sent')
                    FROM email WHERE id = ANY(\(PostgresArray(ids.map(\.rawValue)))::bigint[])
                    """).one()
                return (try row.decode(Double.self, at: 0), try row.decode(Int.self, at: 1), try row.decode(Int.self, at: 2))
            }
            guard failed == 0 else { throw BenchFailure("round \(round): \(failed) emails not Sent") }
            r.endToEnd = span
            r.bytes = bytes
            guard try await waitForCount(server, recipient, atLeast: before + deliveries, timeout: .seconds(120)) else {
                throw BenchFailure("round \(round): the mailbox holds \(try server.messageCount(recipient) - before) new messages, expected \(deliveries)")
            }

            // Worker drain: the same drafts queued in ONE transaction (untimed), so the workers find
            // them all at once; timed from the commit to the last Sent. Isolates the workers from the
            // rate of mailroom_queue_email calls.
            let drainIDs = try await pool.transaction(tenant: tenant) { conn in
                try drafts.map { try EmailQueries.emailQueue(conn, tenant: tenant, $0) }
            }
            let drainStart = ContinuousClock.now
            try await waitUntilSent(drainIDs, pool: pool, tenant: tenant)
            r.drain = IngestCommand.seconds(ContinuousClock.now - drainStart)
            guard try await waitForCount(server, recipient, atLeast: before + 2 * deliveries, timeout: .seconds(120)) else {
                throw BenchFailure("round \(round): drained messages missing from the mailbox")
            }
            r.drainDelivered = IngestCommand.seconds(ContinuousClock.now - drainStart)

            // Floor: the same emails, composed as the worker did, submitted by libcurl alone.
            let messages = try await composeSent(ids, pool: pool, tenant: tenant)
            let endpoint = SMTPEndpoint(host: server.host, port: server.submissionPort, security: .starttls, verifyTLS: false,
                                        authentication: .plain, username: sender.address, password: sender.secret,
                                        heloName: "test.local", policy: server.outboundPolicy)
            let floorBytes = messages.reduce(0) { $0 + $1.bytes.count }
            let floorStart = ContinuousClock.now
            try await submitAll(messages, endpoint: endpoint, connections: workers * (legacyWorker ? 1 : smtpConnections))
            r.floor = IngestCommand.seconds(ContinuousClock.now - floorStart)
            r.floorBytes = floorBytes
            guard try await waitForCount(server, recipient, atLeast: before + 3 * deliveries, timeout: .seconds(120)) else {
                throw BenchFailure("round \(round): floor messages missing from the mailbox")
            }
            r.floorDelivered = IngestCommand.seconds(ContinuousClock.now - floorStart)
            // Empty the mailbox between rounds: Dovecot's work per delivery must not grow with rounds.
            try server.doveadm(["expunge", "-u", recipient.address, "mailbox", "INBOX", "all"])
            results.append(r)
            print(r.line(emails))
        }
        printSummary(results)
    }

    // MARK: End to end

    /// Queues every draft through `mailroom_queue_email`, one transaction per email, from `queuers`
    /// connections at once; returns the ids in draft order.
    private func queueAll(_ drafts: [EmailDraft], pool: PostgresPool, tenant: TenantID) async throws -> [EmailID] {
        let lanes = queuers
        return try await withThrowingTaskGroup(of: [(Int, EmailID)].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var out: [(Int, EmailID)] = []
                    for i in stride(from: lane, to: drafts.count, by: lanes) {
                        let draft = drafts[i]
                        out.append((i, try await pool.transaction(tenant: tenant) { try EmailQueries.emailQueue($0, tenant: tenant, draft) }))
                    }
                    return out
                }
            }
            var all: [(Int, EmailID)] = []
            for try await part in group { all += part }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private func waitUntilSent(_ ids: [EmailID], pool: PostgresPool, tenant: TenantID) async throws {
        let array = PostgresArray(ids.map(\.rawValue))
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            let pending: Int = try await pool.transaction(tenant: tenant) {
                try $0.query("SELECT count(*) FROM email WHERE id = ANY(\(array)::bigint[]) AND status = 'Sending'").one().decode(at: 0)
            }
            if pending == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchFailure("emails still Sending after 600 s")
    }

    // MARK: Floor

    struct Composed: Sendable { var from: String; var recipients: [String]; var bytes: [UInt8] }

    /// The sent emails as the worker composed them: same Date (`date_sent`) and Message-ID.
    private func composeSent(_ ids: [EmailID], pool: PostgresPool, tenant: TenantID) async throws -> [Composed] {
        let rows = try await pool.transaction(tenant: tenant) { conn in
            try ids.map { id -> (OutgoingEmail, Date) in
                guard let e = try EmailQueries.emailGetOutgoing(conn, tenant: tenant, id: id) else { throw BenchFailure("email \(id) vanished") }
                let date: Date = try conn.query("SELECT date_sent FROM email WHERE id = \(id)").one().decode(at: 0)
                return (e, date)
            }
        }
        return try rows.map { e, date in
            Composed(from: e.from.address, recipients: e.envelopeRecipients, bytes: try MessageComposer.compose(e.message(date: date)))
        }
    }

    /// Submits `messages` over `connections` SMTP connections at once, round-robin.
    private func submitAll(_ messages: [Composed], endpoint: SMTPEndpoint, connections: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<connections {
                group.addTask {
                    let connection = try await SMTPConnection(endpoint: endpoint, threadName: "bench-smtp-\(lane)")
                    defer { connection.close() }
                    for i in stride(from: lane, to: messages.count, by: connections) {
                        let m = messages[i]
                        try await connection.send(from: m.from, recipients: m.recipients, message: m.bytes)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Waits until the mailbox holds at least `count` messages; false after `timeout`.
    private func waitForCount(_ server: TestMailServer, _ box: TestMailbox, atLeast count: Int, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if (try? server.messageCount(box)) ?? 0 >= count { return true }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        return false
    }

    // MARK: Report

    struct RoundResult {
        var round: Int
        /// Seconds until the last email was queued (the workers send meanwhile).
        var endToEnd = 0.0, wall = 0.0, floor = 0.0, queueing = 0.0, drain = 0.0
        /// Seconds from the same starts until every message was in the recipient's mailbox: both sides then
        /// include Postfix's and Dovecot's delivery work, which shares the cores with the workers while they
        /// drain but mostly runs after the floor's last acceptance.
        var drainDelivered = 0.0, floorDelivered = 0.0
        var bytes = 0, floorBytes = 0

        func line(_ n: Int) -> String {
            String(format: "round %d: end to end %6.0f emails/s (%.2f s queue→sent, %.2f s wall, all queued after %.2f s, %d KiB), "
                + "workers draining %6.0f emails/s (%.2f s), libcurl floor %6.0f emails/s (%.2f s, %d KiB), ratio %.2f",
                round, Double(n) / endToEnd, endToEnd, wall, queueing, bytes / 1024, Double(n) / drain, drain, Double(n) / floor, floor, floorBytes / 1024, floor / endToEnd)
        }
    }

    private func printSummary(_ results: [RoundResult]) {
        let n = Double(emails)
        print("")
        print("| round | queue→sent emails/s | queueing alone emails/s | workers draining emails/s | libcurl floor emails/s "
            + "| queue→sent / floor | draining / floor | draining / floor, both to delivery |")
        print("|------:|------:|------:|------:|------:|------:|------:|------:|")
        func row(_ label: String, _ v: [Double]) {
            print("| \(label) " + String(format: "| %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f |", v[0], v[1], v[2], v[3], v[4], v[5], v[6]))
        }
        let values = results.map { r in
            [n / r.endToEnd, n / r.queueing, n / r.drain, n / r.floor, r.floor / r.endToEnd, r.floor / r.drain,
             r.floorDelivered / r.drainDelivered]
        }
        for (r, v) in zip(results, values) { row("\(r.round)", v) }
        if results.count > 1 { row("median", (0..<7).map { i in IngestCommand.median(values.map { $0[i] }) }) }
    }
}
