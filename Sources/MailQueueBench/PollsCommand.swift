import ArgumentParser
import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting

/// `mailroom-queue-bench polls`: poll lag at scale. Many accounts over skewed tenants, a 60 s
/// interval, several `mailroom worker` replicas against the local Dovecot; lag, CPU and memory.
struct PollsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polls", abstract: "Poll lag of worker replicas polling many accounts on a fixed interval.")

    @Option(help: "Mail accounts (one INBOX each).") var accounts = 10_000
    @Option(help: "Tenants; tenant 0 holds half the accounts, ten hold 1–5.") var tenants = 100
    @Option(help: "Real Dovecot mailboxes the accounts share.") var mailboxes = 50
    @Option(help: "Poll interval, seconds.") var interval = 60
    @Option(help: "Seconds the replicas run.") var duration = 180
    @Option(help: "Worker replicas.") var replicas = 3
    @Option(help: "Job slots per replica.") var concurrency = 8
    @Option(help: "Running polls per tenant across replicas.") var perTenantCap = 8
    @Option(help: "IMAP security of the accounts: starttls or none.") var security = "starttls"
    @Option(help: "Idle IMAP connections each replica keeps between polls (0: connect for every poll).")
    var imapIdleSessions = 256
    @Option(help: "The mailroom executable.") var mailroom = ".build/release/mailroom"

    func run() async throws {
        let server = try TestMailServer.fromEnvironment()
        let secrets = SecretBox(key: try SecretKey.fromEnvironment())
        let db = try await BenchDatabase.make(migrated: true)
        var processes: [Process] = []
        do {
            let boxes = try (0..<mailboxes).map { _ in try server.createMailbox(prefix: "fleet") }
            let sizes = PollFleet.tenantSizes(accounts: accounts, tenants: tenants)
            let fleet = try await PollFleet.provision(db, sizes: sizes, mailboxes: boxes, server: server, security: security,
                                                      secrets: secrets, interval: interval)
            log("provisioned \(accounts) accounts over \(tenants) tenants (largest \(sizes[0]), smallest \(sizes.min()!))")
            let startedAt = Date()
            for i in 0..<replicas { processes.append(try startWorker(db.url, index: i)) }
            let servers = ProcessTreeUsage.testServerRoots()
            let before = processes.map { ProcessUsage.read(pid: $0.processIdentifier) }
            let serversBefore = servers.map { ProcessTreeUsage.cpuSeconds(root: $0.pid) }
            try await Task.sleep(for: .seconds(duration))
            let after = processes.map { ProcessUsage.read(pid: $0.processIdentifier) }
            let serversAfter = servers.map { ProcessTreeUsage.cpuSeconds(root: $0.pid) }
            let endedAt = Date()
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            for p in processes { p.waitUntilExit() }
            // The servers may have been restarted under the run (a shared machine): retry the read.
            var attempt = 0
            var loaded: [PollLag.Sample]?
            while loaded == nil {
                do {
                    loaded = try await PollLag.load(db, tenants: fleet.map(\.id), interval: Double(interval), start: startedAt, end: endedAt)
                } catch where attempt < 5 {
                    attempt += 1
                    try await Task.sleep(for: .seconds(2))
                }
            }
            let lags = loaded!
            print(PollLag.report(lags, fleet: fleet, sizes: sizes, duration: endedAt.timeIntervalSince(startedAt),
                                 usage: zip(before, after).map { ($0, $1) }, replicas: replicas, concurrency: concurrency))
            // Server CPU over the run, per poll done (the shared servers also serve other clients: an upper bound).
            let polls = lags.filter { !$0.overdue }.count
            print("imap idle sessions per replica: \(imapIdleSessions)")
            for (i, server) in servers.enumerated() {
                guard let a = serversBefore[i], let b = serversAfter[i] else { continue }
                print(String(format: "%@ CPU: %.1f s over the run (%.0f %% of one core), %.2f ms per poll",
                             server.name, b - a, 100 * (b - a) / endedAt.timeIntervalSince(startedAt),
                             polls > 0 ? 1000 * (b - a) / Double(polls) : 0))
            }
        } catch {
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            await db.drop()
            throw error
        }
        await db.drop()
    }

    private func startWorker(_ url: String, index: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mailroom)
        p.arguments = ["worker", "--database-url", url, "--migrations", TestDatabase.migrationsDirectory,
                       "--concurrency", "\(concurrency)", "--per-tenant-cap", "\(perTenantCap)", "--shutdown-deadline", "5",
                       "--imap-idle-sessions", "\(imapIdleSessions)", "--log-level", "error"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.standardError
        try p.run()
        return p
    }
}
