import Foundation

/// The final report of a run: what was done to the system, what was delivered and stored, and every
/// violation of the invariant. `passed` is false when anything is off.
struct ChaosReport {
    var duration: Int
    var settled: Duration
    var feeder: MailFeeder.Counts
    var replicas: ReplicaSet.Counts
    var badExits: [String]
    var monkey: ChaosMonkey.Counts
    var verdicts: [TenantVerdict]
    var queue: QueueSnapshot
    var ledgerProblems: [String]
    var logs: String
    /// The OAuth tenant's findings (`--oauth-accounts`): lines to print and invariant violations.
    var oauthLines: [String] = []
    var oauthProblems: [String] = []
    /// The webhook deliveries' findings (`ChaosWebhooks`).
    var webhookLines: [String] = []
    var webhookProblems: [String] = []

    var violations: [String] {
        var v = ledgerProblems + badExits + verdicts.flatMap(\.violations) + oauthProblems + webhookProblems
        if queue.runningExpired != 0 { v.append("\(queue.runningExpired) job(s) stuck 'running' with an expired lease") }
        if queue.running != 0 { v.append("\(queue.running) job(s) still 'running' after every replica stopped") }
        if monkey.postgresRestarts != 1 || monkey.dovecotRestarts != 1 {
            v.append("server restarts: postgres \(monkey.postgresRestarts), dovecot \(monkey.dovecotRestarts) (want 1 each)")
        }
        v += monkey.restartFailures.map { "restart failed: \($0)" }
        return v
    }

    var passed: Bool { violations.isEmpty }

    func render() -> String {
        func row(_ label: String, _ value: CustomStringConvertible) -> String {
            label.padding(toLength: 38, withPad: " ", startingAt: 0) + "\(value)"
        }
        var lines = ["", "== chaos report " + String(repeating: "=", count: 50)]
        lines.append(row("duration", "\(duration) s of delivery, then \(String(format: "%.1f", settled.seconds)) s to settle"))
        lines.append(row("delivered", "\(feeder.maildir) to Maildir, \(feeder.smtp) over SMTP (\(feeder.smtpRefused) refused, "
                         + "\(feeder.uncertain) uncertain), \(feeder.bytes / 1024) KiB"))
        lines.append(row("replica starts", replicas.starts))
        lines.append(row("SIGKILLs / SIGTERMs", "\(replicas.sigkills) / \(replicas.sigterms)"))
        lines.append(row("unclean exits", replicas.badExits))
        lines.append(row("mailroom poll (queued / refused)", "\(monkey.polls) / \(monkey.pollsRefused)"))
        lines.append(row("postgres / dovecot restarts", "\(monkey.postgresRestarts) / \(monkey.dovecotRestarts)"))
        for v in verdicts {
            lines.append("-- tenant \(v.slug)")
            lines.append(row("  delivered (distinct Message-IDs)", v.delivered))
            lines.append(row("  imported (emails stored)", v.snapshot.emails))
            lines.append(row("  missing", v.missing.count))
            lines.append(row("  duplicates", v.duplicates))
            lines.append(row("  never delivered but stored", v.unexpected.count))
            lines.append(row("  account links (want / have)", "\(v.expectedLinks) / \(v.snapshot.linkRows)"))
            lines.append(row("  import failures failed / retrying", "\(v.snapshot.failuresFailed) / \(v.snapshot.failuresRetrying)"))
            lines.append(row("  polls (with error)", "\(v.snapshot.pollLogRows) (\(v.snapshot.pollErrors))"))
            lines.append(row("  polls overlapping", v.snapshot.overlappingPolls))
        }
        lines += oauthLines.map { "  " + $0 }
        lines += webhookLines.map { "  " + $0 }
        lines.append(row("jobs running / expired / failed", "\(queue.running) / \(queue.runningExpired) / \(queue.failed)"))
        lines.append(row("replica logs", logs))
        if passed {
            lines.append("PASS: every delivered message imported exactly once; every event delivered once, in order, signed, to its own tenant")
        } else {
            lines.append("FAIL:")
            lines += violations.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
