import ArgumentParser
import Foundation
import MailCore
import MailIO
import MailCrypto
import MailStore
import MailTesting

/// `mailroom-chaos`: replicas of `mailroom worker` import continuously delivered mail while replicas are
/// killed and restarted, PostgreSQL restarts once and Dovecot once; at the end every delivered message must
/// be imported exactly once. Prints the invariant check; exits 1 when it fails.
///
/// Every tenant also has a webhook endpoint on a local receiver that answers 5xx to 30 % of deliveries and
/// is down for `--webhook-down` seconds mid-run; the events it acknowledged are checked too (`ChaosWebhooks`).
///
/// With `--oauth-accounts`, the OAuth tenant also sends mail throughout (`OAuthSendFeeder`, checked by
/// `OAuthSendCheck`), and mid-run one of its grants is revoked and later logged in again
/// (`RevocationDrill`).
///
/// Runs against the test environment of `scripts/testenv.sh` (`source .testenv/env` first) and RESTARTS
/// ITS SERVERS: anything else using that environment meanwhile sees dropped connections.
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailroom-chaos",
        abstract: "Exactly-once import under SIGKILLs and server restarts (make chaos).")

    @Option(help: "Seconds of delivery and chaos.")
    var duration = 180

    @Option(help: "Replicas of `mailroom worker`.")
    var replicas = 3

    @Option(help: "Seconds to wait after delivery stops for every message to be imported.")
    var settle = 90

    @Option(help: "The mailroom executable.")
    var mailroom = ".build/debug/mailroom"

    @Option(help: "scripts/testenv.sh, for restart-postgres and restart-dovecot.")
    var testenv = "scripts/testenv.sh"

    @Option(help: "Accounts of a third tenant that log in with OAuth (60-second tokens, strictly rotating refresh tokens); 0: none.")
    var oauthAccounts = 0

    @Option(help: "Seconds the webhook receiver is down mid-run (default: 120, at most two fifths of --duration); it answers 5xx to 30 % of deliveries throughout.")
    var webhookDown: Int?

    @Option(help: "Seconds to wait after the import settled for every tenant's events to reach the receiver.")
    var webhookSettle = 600

    @Option(help: "Directory for the replicas' logs (default: a new temporary directory).")
    var logDirectory: String?

    func validate() throws {
        guard duration >= 15 else { throw ValidationError("--duration must be at least 15 seconds") }
        guard replicas >= 1 else { throw ValidationError("--replicas must be at least 1") }
        if let webhookDown, webhookDown < 0 || webhookDown >= duration * 4 / 5 {
            throw ValidationError("--webhook-down must be 0 or more and end before the delivery does (under four fifths of --duration)")
        }
        guard FileManager.default.isExecutableFile(atPath: mailroom) else { throw ValidationError("no executable at \(mailroom)") }
        guard FileManager.default.isExecutableFile(atPath: testenv) else { throw ValidationError("no executable at \(testenv)") }
    }

    func run() async throws {
        let server = try TestMailServer.fromEnvironment()
        let key = try SecretKey.fromEnvironment()
        let logs = logDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-chaos-\(getpid())").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)

        let tokens = oauthAccounts > 0 ? try TestTokenServer.fromEnvironment() : nil
        let setup = try await ChaosSetup.make(server: server, key: key, oauthAccounts: oauthAccounts, tokens: tokens)
        let accounts = setup.accounts
        var folders: [String: String] = [:]
        for a in accounts {
            folders[a.mailbox.address] = try server.doveadm(["mailbox", "path", "-u", a.mailbox.address, "INBOX"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        say("database \(setup.databaseName); tenants \(setup.tenants.map(\.slug).joined(separator: ", ")); "
              + "accounts \(accounts.map { "\($0.tenantSlug)/\($0.name)" }.joined(separator: ", ")); logs in \(logs)")

        let hooks = try await ChaosWebhooks.make(setup: setup, key: key)
        defer { hooks.receiver.stop() }
        let set = ReplicaSet(executable: mailroom, arguments: [
            "worker", "--database-url", setup.url, "--migrations", TestDatabase.migrationsDirectory,
            "--concurrency", "3", "--lease", "5", "--shutdown-deadline", "5", "--log-level", "notice",
        ], size: replicas, logDirectory: logs)
        let guardian = ExitGuard(replicas: set, receiver: hooks.receiver)
        guardian.install()

        var oauthSends: OAuthSendRun?
        if let tokens { oauthSends = try await OAuthSendRun.make(setup: setup, server: server, key: key, tokens: tokens) }

        let postfix = PostfixQueue(server: server)
        let feeder = MailFeeder(server: server, accounts: accounts, postfix: postfix)
        let started = ContinuousClock.now
        let monkey = ChaosMonkey(replicas: set, environment: TestEnvironmentControl(script: testenv, logFile: "\(logs)/testenv.log"), postfix: postfix,
                                 mailroom: mailroom, databaseURL: setup.url, accounts: accounts, started: started)
        let feederThread = IOThread(name: "chaos-feeder"), monkeyThread = IOThread(name: "chaos-monkey")
        defer { feederThread.stop(); monkeyThread.stop() }

        try await monkeyThread.run { try set.startAll() }
        monkey.event("\(replicas) replicas started; delivering for \(duration) s")
        async let delivery: Void = feederThread.run { feeder.run() }
        let sending = oauthSends.map { run in Task { await run.feeder.run() } }
        let seconds = duration
        let drill = oauthSends.map { run in
            Task { await run.drill.run(started: started, revokeAt: .seconds(seconds) * 0.45, loginAt: .seconds(seconds) * 0.6,
                                       event: { monkey.event($0) }) }
        }
        // The receiver goes down a fifth into the run for `downFor` seconds, then is flaky again.
        let downFor = webhookDown ?? min(120, duration * 2 / 5)
        let outage = Task {
            try await Task.sleep(until: started + .seconds(seconds) / 5, clock: .continuous)
            try await hooks.down()
            monkey.event("webhook receiver down for \(downFor) s")
            try await Task.sleep(for: .seconds(downFor))
            try await hooks.flaky()
            monkey.event("webhook receiver back (5xx to \(Int(ChaosWebhooks.failureFraction * 100)) % of deliveries)")
        }
        try await monkeyThread.run { monkey.run(for: .seconds(seconds)) }
        try await outage.value
        feeder.stop()
        oauthSends?.feeder.stop()
        try await delivery
        await sending?.value
        let drillFindings = await drill?.value
        monkey.event("delivery stopped: \(feeder.counts.maildir) to Maildir, \(feeder.counts.smtp) over SMTP"
                     + (oauthSends.map { ", \($0.feeder.snapshot.queued) emails queued on OAuth accounts" } ?? ""))

        // Every replica up for the settling phase; mail still in Postfix's queue goes to Dovecot now.
        try await monkeyThread.run { try set.startAll() }
        let queueEmpty = try await monkeyThread.run { () -> Bool in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if postfix.isEmpty() { return true }
                postfix.flush()
                Thread.sleep(forTimeInterval: 1)
            }
            return postfix.isEmpty()
        }

        // What the mail server really holds is what must be imported.
        var expected: [String: [String: Set<String>]] = [:]  // tenant → account name → Message-IDs
        var ledgerProblems: [String] = []
        for a in accounts {
            let onDisk = MaildirScanner.messageIDs(in: folders[a.mailbox.address]!)
            let lost = feeder.accepted(a.mailbox.address).subtracting(onDisk)
            let stray = onDisk.subtracting(feeder.accepted(a.mailbox.address)).subtracting(feeder.uncertain(a.mailbox.address))
            if !lost.isEmpty { ledgerProblems.append("\(a.tenantSlug)/\(a.name): \(lost.count) accepted message(s) never reached the Maildir") }
            if !stray.isEmpty { ledgerProblems.append("\(a.tenantSlug)/\(a.name): \(stray.count) message(s) in the Maildir that were never sent") }
            expected[a.tenantSlug, default: [:]][a.name] = onDisk
        }
        if !queueEmpty { ledgerProblems.append("Postfix's queue did not empty within 60 s") }

        let waited = try await settleUntilImported(setup: setup, expected: expected, monkey: monkey)
        if let oauthSends { try await oauthSends.settle(seconds: settle, event: { monkey.event($0) }) }
        let undelivered = try await hooks.settle(setup: setup, timeout: .seconds(webhookSettle), event: { monkey.event($0) })
        var statuses: [Int32?] = []
        for slot in 0..<replicas { statuses.append(try await monkeyThread.run { set.terminate(slot) }) }
        monkey.event("replicas stopped with SIGTERM: exit statuses \(statuses.map { $0.map(String.init) ?? "-" }.joined(separator: ", "))")
        guardian.disarm()

        var verdicts: [TenantVerdict] = []
        for t in setup.tenants {
            let snapshot = try await TenantSnapshot.read(setup.pool, tenant: t.id)
            verdicts.append(TenantVerdict(slug: t.slug, expected: expected[t.slug] ?? [:], snapshot: snapshot))
        }
        let queue = try await QueueSnapshot.read(setup.pool)
        var report = ChaosReport(duration: duration, settled: waited, feeder: feeder.counts, replicas: set.counts,
                                 badExits: set.badExitDetails, monkey: monkey.snapshot, verdicts: verdicts, queue: queue,
                                 ledgerProblems: ledgerProblems, logs: logs)
        if let tokens, let oauth = setup.tenants.first(where: { $0.slug == "chaos-oauth" }) {
            (report.oauthLines, report.oauthProblems) = try await OAuthChaosCheck.run(setup: setup, tenant: oauth, tokens: tokens, lifetime: 60,
                                                                                      revoked: oauthSends?.drill.account)
        }
        (report.webhookLines, report.webhookProblems) = try await hooks.check(setup: setup)
        report.webhookProblems += undelivered.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value) event(s) never delivered" }
        if let oauthSends, let drillFindings {
            let (lines, problems) = try await oauthSends.check(drillFindings)
            report.oauthLines += lines
            report.oauthProblems += problems
        }
        say(report.render())
        await setup.tearDown()
        if !report.passed { throw ExitCode(1) }
    }

    /// Waits until every expected Message-ID is stored or `settle` seconds pass; returns the time taken.
    private func settleUntilImported(setup: ChaosSetup, expected: [String: [String: Set<String>]],
                                     monkey: ChaosMonkey) async throws -> Duration {
        let start = ContinuousClock.now
        let deadline = start + .seconds(settle)
        var lastMissing = -1
        while true {
            var missing = 0
            for t in setup.tenants {
                let want = (expected[t.slug] ?? [:]).values.reduce(into: Set<String>()) { $0.formUnion($1) }
                let tenant = t.id
                let stored = try await setup.pool.transaction(tenant: tenant) { conn in
                    Set(try conn.query("SELECT message_id FROM email WHERE tenant_id = \(tenant)").map { try $0.decode(String.self, at: 0) })
                }
                missing += want.subtracting(stored).count
            }
            if missing != lastMissing { monkey.event("waiting for import: \(missing) message(s) not yet stored"); lastMissing = missing }
            if missing == 0 || ContinuousClock.now >= deadline { return ContinuousClock.now - start }
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// On SIGINT or SIGTERM of the chaos run itself, the replicas die with it instead of running on.
final class ExitGuard: @unchecked Sendable {
    private let replicas: ReplicaSet
    private let receiver: TestWebhookReceiver
    // Only touched on the main thread (install, disarm) and by the handlers on the main queue.
    private var sources: [DispatchSourceSignal] = []

    init(replicas: ReplicaSet, receiver: TestWebhookReceiver) {
        self.replicas = replicas
        self.receiver = receiver
    }

    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [replicas, receiver] in
                replicas.killAll()
                receiver.stop()
                say("interrupted: replicas killed; the run's database is left behind")
                exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }

    func disarm() {
        for s in sources { s.cancel() }
        sources = []
    }
}

/// The entry point: libcrypto is set up before anything else touches it (`CryptoRuntime`).
@main
enum Main {
    static func main() async {
        CryptoRuntime.disableExitCleanup()
        await ChaosCommand.main()
    }
}
