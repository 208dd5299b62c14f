import Foundation
import MailTesting
import Synchronization

/// The disruptions of a run, every few seconds until the deadline: SIGKILL a replica and start it again
/// (sometimes SIGTERM instead), ask for an immediate poll with `mailroom poll`, and once each restart
/// PostgreSQL (at a third of the run) and Dovecot (at two thirds). Blocking: run it on a thread of its own.
final class ChaosMonkey: Sendable {
    struct Counts: Sendable {
        var polls = 0, pollsRefused = 0, postgresRestarts = 0, dovecotRestarts = 0
        var restartFailures: [String] = []
    }

    let replicas: ReplicaSet
    let environment: TestEnvironmentControl
    let postfix: PostfixQueue
    let mailroom: String
    let databaseURL: String
    let accounts: [ChaosAccount]
    let started: ContinuousClock.Instant
    private let counts = Mutex(Counts())

    init(replicas: ReplicaSet, environment: TestEnvironmentControl, postfix: PostfixQueue, mailroom: String,
         databaseURL: String, accounts: [ChaosAccount], started: ContinuousClock.Instant) {
        self.replicas = replicas
        self.environment = environment
        self.postfix = postfix
        self.mailroom = mailroom
        self.databaseURL = databaseURL
        self.accounts = accounts
        self.started = started
    }

    var snapshot: Counts { counts.withLock { $0 } }

    func run(for duration: Duration) {
        let deadline = started + duration
        var postgresDone = false, dovecotDone = false
        while ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: Double.random(in: 2...5))
            for line in replicas.reapUnexpectedExits() { event("UNEXPECTED: \(line)") }
            let elapsed = ContinuousClock.now - started
            if !postgresDone && elapsed >= duration / 3 {
                postgresDone = true
                restart("postgres")
                continue
            }
            if !dovecotDone && elapsed >= duration * 2 / 3 {
                dovecotDone = true
                restart("dovecot")
                postfix.flush()
                continue
            }
            let slot = Int.random(in: 0..<replicas.size)
            switch Int.random(in: 0..<10) {
            case 0..<5:
                replicas.kill(slot)
                event("SIGKILL replica \(slot + 1)")
                Thread.sleep(forTimeInterval: Double.random(in: 0.2...2))
                startAgain(slot)
            case 5..<7:
                let status = replicas.terminate(slot)
                event("SIGTERM replica \(slot + 1): exit \(status.map(String.init) ?? "-")")
                Thread.sleep(forTimeInterval: Double.random(in: 0.2...1))
                startAgain(slot)
            default:
                poll(accounts.randomElement()!)
            }
            // Whatever was down comes back: a replica that failed to start is retried here.
            for s in 0..<replicas.size { startAgain(s, quiet: true) }
        }
    }

    private func startAgain(_ slot: Int, quiet: Bool = false) {
        do {
            try replicas.start(slot)
            if !quiet { event("started replica \(slot + 1)") }
        } catch {
            event("cannot start replica \(slot + 1): \(error)")
        }
    }

    private func restart(_ server: String) {
        event("restarting \(server) (shared test environment)")
        do {
            let took = try environment.restart(server)
            counts.withLock { server == "postgres" ? ($0.postgresRestarts += 1) : ($0.dovecotRestarts += 1) }
            event("\(server) back after \(String(format: "%.1f", took.seconds)) s")
        } catch {
            counts.withLock { $0.restartFailures.append("\(server): \(error)") }
            event("restart of \(server) FAILED: \(error)")
        }
    }

    /// `mailroom poll`: fails while PostgreSQL is down, which is fine; the count shows how many got through.
    private func poll(_ account: ChaosAccount) {
        let ok = (try? CommandRunner.run(mailroom, ["poll", "--database-url", databaseURL, "--tenant", account.tenantSlug,
                                                    account.name]).status) == 0
        counts.withLock { ok ? ($0.polls += 1) : ($0.pollsRefused += 1) }
        event("mailroom poll \(account.tenantSlug) \(account.name): \(ok ? "queued" : "refused")")
    }

    func event(_ text: String) {
        let t = ContinuousClock.now - started
        say(String(format: "[%6.1fs] ", t.seconds) + text)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Writes a line to standard output unbuffered, so progress shows at once even through a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
