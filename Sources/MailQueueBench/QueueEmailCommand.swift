import ArgumentParser
import Foundation
import MailCore
import MailStore
import MailTesting

/// `mailroom-queue-bench queue-email`: emails queued per second through `mailroom_queue_email` (one
/// email per transaction) and `mailroom_queue_emails` (a batch per transaction), beside plain INSERTs
/// of the same rows (email, from and to recipients, account link, the sender's Sent copy, the send
/// job), all by pgbench from the same connections in the same run, small text emails and then with
/// one attachment each. No workers run: only queueing is measured.
///
/// Per round, each variant starts from an empty `email` and `job` (TRUNCATE) and queues `--emails`
/// emails; the rate is pgbench's transactions per second times the emails per transaction. The attachment is
/// `--attachment-kb` KB of random bytes held in a helper table: the plain INSERT takes it as bytea,
/// the functions as base64 in their JSON (as a client sends it); the JSON of a batch is built in the
/// same statement, server-side, for lack of room on pgbench's command line.
///
/// Beside them, in the same rounds: the commit floor (transactions that only take a transaction id,
/// so each commit writes and flushes a commit record), the two functions called as the CRM role
/// (`mailroom_crm`, acting as the same user), and, labelled as a what-if and never how mail is
/// queued, the small-text scripts with `synchronous_commit = off`: what the same work costs when a
/// commit does not wait for the disk.
struct QueueEmailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-email",
        abstract: "Emails/s queued through mailroom_queue_email(s) beside plain INSERTs of the same rows (pgbench).")

    @Option(help: "pgbench connections.") var clients = 4
    @Option(help: "Emails per measurement (spread over the connections).") var emails = 8_000
    @Option(help: "Emails per batched call.") var batch = 100
    @Option(help: "Rounds (each runs every variant once, in the same order).") var rounds = 2
    @Option(help: "Attachment size in KB for the attachment variants (0 skips them).") var attachmentKb = 100

    enum Variant: String, CaseIterable {
        case commits = "empty transactions (commit floor)", plain = "plain INSERTs", single = "mailroom_queue_email",
             batched = "mailroom_queue_emails"
    }

    /// One line of the report: a script, who runs it, and whether its commits wait for the disk.
    struct Measurement: Equatable {
        var variant: Variant
        var attachment = false
        var asCRM = false
        var asyncCommit = false

        var label: String {
            [asCRM ? "as mailroom_crm" : "as owner", asyncCommit ? "what-if: synchronous_commit off" : nil].compactMap { $0 }
                .joined(separator: ", ")
        }
    }

    struct Result {
        var measurement: Measurement
        var round: Int
        var emailsPerSecond: Double
    }

    /// Every measurement of a round, in order.
    var measurements: [Measurement] {
        var all = Variant.allCases.map { Measurement(variant: $0) }
        all += [Measurement(variant: .single, asCRM: true), Measurement(variant: .batched, asCRM: true)]
        all += Variant.allCases.map { Measurement(variant: $0, asyncCommit: true) }
        if attachmentKb > 0 { all += [Variant.plain, .single, .batched].map { Measurement(variant: $0, attachment: true) } }
        return all
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let pgbench = BenchProcess.locate("pgbench", candidates: [env["MAILROOM_TEST_PG_BIN"].map { "\($0)/pgbench" } ?? ""]) else {
            throw BenchError("pgbench not found (postgresql-contrib / the server's bin directory)")
        }
        let db = try await BenchDatabase.make(migrated: true, connections: 2)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-queue-email-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var results: [Result] = []
        var failure: (any Error)?
        do {
            let ids = try await setUp(db)
            let crmURL = try TestDatabase.url(as: .crm, databaseURL: db.url)
            for round in 1...rounds {
                for (n, m) in measurements.enumerated() {
                    try await db.pool.withConnection { try $0.execute("TRUNCATE email, job CASCADE") }
                    let script = work.appendingPathComponent("\(n).sql")
                    try Self.script(m, ids: ids, batch: batch).write(to: script, atomically: true, encoding: .utf8)
                    // A count, not -T: a child of this process starts with SIGALRM blocked, and pgbench's
                    // duration timer is that signal.
                    let perTransaction = m.variant == .batched ? batch : 1
                    let transactions = max(1, emails / (clients * perTransaction))
                    let out = try BenchProcess.run(pgbench, ["-n", "-M", "prepared", "-c", "\(clients)", "-j", "\(clients)",
                                                             "-t", "\(transactions)", "-f", script.path, m.asCRM ? crmURL : db.url],
                                                   environment: env)
                    guard out.status == 0, let tps = Self.tps(out.stdout) else {
                        throw BenchError("pgbench failed on \(m.variant.rawValue) (\(m.label)): \(out.stderr.suffix(600))")
                    }
                    let r = Result(measurement: m, round: round, emailsPerSecond: tps * Double(perTransaction))
                    log("round \(round) \(m.variant.rawValue)\(m.attachment ? " + \(attachmentKb) KB" : "") (\(m.label)): "
                        + "\(Int(r.emailsPerSecond))/s")
                    results.append(r)
                }
            }
        } catch {
            failure = error
        }
        await db.drop()
        try? FileManager.default.removeItem(at: work)
        if let failure { throw failure }
        print(report(results))
    }

    struct Fixture { var tenant: TenantID; var user: Int64; var account: Int64 }

    /// One tenant with an admin user and a group account with SMTP (never contacted: no workers), and
    /// the attachment's bytes in `bench_blob` (no tenant data; dropped with the database).
    private func setUp(_ db: BenchDatabase) async throws -> Fixture {
        let (tenant, _) = try await TestDatabase.makeTenant("queue-email", in: db.pool)
        let kb = attachmentKb
        return try await db.pool.transaction(tenant: tenant) { conn in
            let user: Int64 = try conn.query("""
                INSERT INTO app_user (tenant_id, username, name, is_admin) VALUES (\(tenant), 'alice', 'Alice', true) RETURNING id
                """).one().decode(at: 0)
            let account: Int64 = try conn.query("""
                INSERT INTO mail_account (tenant_id, kind, name, address, smtp_host, smtp_port, smtp_shared)
                VALUES (\(tenant), 'group', 'Support', 'support@bench.test', 'smtp.bench.test', 587, true) RETURNING id
                """).one().decode(at: 0)
            try conn.execute("CREATE UNLOGGED TABLE bench_blob (data bytea NOT NULL, b64 text NOT NULL)")
            try conn.execute("""
                INSERT INTO bench_blob SELECT d, translate(encode(d, 'base64'), E'\\n', '')
                FROM (SELECT decode(string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), ''), 'hex') AS d
                      FROM generate_series(1, \(kb) * 1024)) x
                """)
            return Fixture(tenant: tenant, user: user, account: account)
        }
    }

    /// The pgbench script of one measurement: one transaction scoped to the tenant and acting user.
    static func script(_ m: Measurement, ids f: Fixture, batch: Int) -> String {
        let t = f.tenant.rawValue, u = f.user, a = f.account, attachment = m.attachment
        let head = """
            BEGIN;
            \(m.asyncCommit ? "SET LOCAL synchronous_commit = off;" : "")
            SELECT set_config('mailroom.tenant_id', '\(t)', true), set_config('mailroom.user_id', '\(u)', true);

            """
        let attachmentJSON = "jsonb_build_array(jsonb_build_object('filename', 'a.bin', 'content_type', 'application/octet-stream', 'data', b.b64))"
        let attachmentInsert = """
            INSERT INTO attachment (tenant_id, email_id, position, filename, content_type, size, data)
            SELECT \(t), :eid::bigint, 0, 'a.bin', 'application/octet-stream', length(data), data FROM bench_blob;
            """
        switch m.variant {
        case .commits:
            // A transaction id makes the commit write a commit record and wait for its flush.
            return head + """
                SELECT txid_current();
                COMMIT;

                """
        case .plain:
            // pgbench reads `:name` as a variable even inside literals: no colon in a string here.
            return head + """
                INSERT INTO email (tenant_id, message_id, subject, from_address, body_text, status, created_by_user_id, send_account_id, queued_at, size)
                VALUES (\(t), gen_random_uuid()::text || '@bench.test', 'Hello', 'support@bench.test', 'A small text email.', 'Sending', \(u), \(a), now(), 0)
                RETURNING id AS eid \\gset
                INSERT INTO email_recipient (tenant_id, email_id, kind, position, address)
                VALUES (\(t), :eid::bigint, 'from', 0, 'support@bench.test'), (\(t), :eid::bigint, 'to', 0, 'customer@example.test');
                INSERT INTO email_account_link (tenant_id, email_id, account_id) VALUES (\(t), :eid::bigint, \(a));
                INSERT INTO email_user (tenant_id, email_id, user_id, is_read, folder) VALUES (\(t), :eid::bigint, \(u), true, 'sent');
                \(attachment ? attachmentInsert : "")
                INSERT INTO job (tenant_id, kind, payload, unique_key, max_attempts)
                VALUES (\(t), 'send', jsonb_build_object('email', :eid::bigint), concat_ws(chr(58), 'send', 'email', :eid::bigint), 8);
                COMMIT;

                """
        case .single:
            return head + """
                SELECT mailroom_queue_email(\(a), \(u), ARRAY['customer@example.test'], p_subject => 'Hello', p_text => 'A small text email.'\
                \(attachment ? ", p_attachments => (SELECT \(attachmentJSON) FROM bench_blob b)" : ""));
                COMMIT;

                """
        case .batched:
            return head + """
                SELECT cardinality(mailroom_queue_emails((
                    SELECT jsonb_agg(jsonb_build_object('account', \(a), 'user', \(u), 'to', jsonb_build_array('customer@example.test'),
                                                        'subject', 'Hello', 'text', 'A small text email.'\
                \(attachment ? ", 'attachments', \(attachmentJSON)" : "")))
                    FROM generate_series(1, \(batch))\(attachment ? ", bench_blob b" : ""))));
                COMMIT;

                """
        }
    }

    static func tps(_ output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }) else { return nil }
        return Double(line.dropFirst(6).prefix { $0 != " " })
    }

    /// Medians over the rounds, and each round's ratio to the plain INSERTs of the same round (small
    /// text or with the attachment; as the owner, durable commits).
    func report(_ results: [Result]) -> String {
        func median(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? 0 : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        var lines = ["", "queueing, \(clients) connections, \(emails) emails per variant, \(rounds) round(s), batch \(batch):",
                     "| emails | variant | run | emails/s (median) | × plain INSERTs, per round | MB/s of attachments |",
                     "|---|---|---|---:|---|---:|"]
        for m in measurements {
            let mine = results.filter { $0.measurement == m }
            let ratios = mine.compactMap { r in
                results.first { $0.measurement == Measurement(variant: .plain, attachment: m.attachment) && $0.round == r.round }
                    .map { String(format: "%.2f", r.emailsPerSecond / $0.emailsPerSecond) }
            }
            let rate = median(mine.map(\.emailsPerSecond))
            let mb = m.attachment ? String(format: "%.1f", rate * Double(attachmentKb) / 1024) : "–"
            lines.append("| \(m.attachment ? "+ \(attachmentKb) KB attachment" : "small text") | \(m.variant.rawValue) | \(m.label) | \(Int(rate)) | "
                         + ratios.joined(separator: ", ") + " | \(mb) |")
        }
        return lines.joined(separator: "\n")
    }
}
