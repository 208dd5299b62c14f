import ArgumentParser
import Foundation
import MailCrypto
import MailProvisioning
import MailStore

/// `mailroom secrets rotate [--check]`: moves every stored secret to the current master key. The procedure
/// around it (previous keys deployed to every worker first) is in docs/operations.md.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage the encryption of stored credentials.",
        subcommands: [Rotate.self])

    /// Re-seals under $MAILROOM_SECRET_KEY every secret another key sealed; `--check` only counts.
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Re-encrypt every stored secret under MAILROOM_SECRET_KEY (old keys in MAILROOM_PREVIOUS_SECRET_KEYS).",
            discussion: """
                Walks every tenant, active or not, and re-seals each stored credential not sealed by the current key, \
                a batch of accounts per transaction. Safe to stop and run again; safe beside running workers that hold \
                both keys. Exits 1 when a value could not be opened by any configured key (it is listed, never shown).
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Change nothing: report how many values each key id still seals.")
        var check = false

        @Option(name: .customLong("tenant"), help: "Only this tenant (repeatable); default: every tenant.")
        var tenants: [String] = []

        @Option(help: "Accounts per transaction.")
        var batchSize = 100

        @Option(help: "Stop after re-sealing this many values (run again to continue).")
        var limit: Int?

        func run() async throws {
            try global.bootstrapLogging()
            let keyring = try global.resolveKeyring()
            let rotation = SecretRotation(secrets: SecretBox(keyring: keyring), batchSize: batchSize)
            let pool = try global.makePool(connections: 1)
            defer { pool.close() }
            _ = try await MigrateCommand.migrate(pool: pool, directory: global.migrations)
            let only = tenants.isEmpty ? nil : Set(tenants)
            if check {
                let counts = try await rotation.check(pool: pool, only: only)
                print(Self.render(counts, current: keyring.current.keyID))
                return
            }
            let report = try await rotation.rotate(pool: pool, only: only, limit: limit)
            var summary = "re-sealed \(report.resealed) value(s) under key \(keyring.current.keyID) in \(report.tenants) tenant(s)"
            if report.stoppedAtLimit { summary += "; stopped at --limit, run again to continue" }
            print(summary)
            for failure in report.failures { FileHandle.standardError.write(Data("could not re-seal: \(failure)\n".utf8)) }
            if !report.failures.isEmpty {
                FileHandle.standardError.write(Data("\(report.failures.count) value(s) left as they were\n".utf8))
                throw ExitCode(1)
            }
        }

        static func render(_ counts: [SecretRotation.SealerCount], current: KeyID) -> String {
            var rows = [["key id", "role", "values"]]
            if !counts.contains(where: { $0.role == .current }) { rows.append([current.description, "current", "0"]) }
            rows += counts.map { [$0.sealer.description, $0.role.rawValue, "\($0.count)"] }
            func total(_ roles: Set<SecretRotation.SealerCount.Role>) -> Int {
                counts.filter { roles.contains($0.role) }.reduce(0) { $0 + $1.count }
            }
            let others = total([.previous, .legacy]), unknown = total([.unknown])
            var lines: [String] = []
            if others == 0 && unknown == 0 {
                lines.append("every stored secret is sealed by the current key \(current): previous keys can be dropped")
            }
            if others > 0 {
                lines.append("\(others) value(s) are still sealed by other keys: keep \(SecretKeyring.previousKeysVariable) "
                    + "and run `mailroom secrets rotate`")
            }
            if unknown > 0 {
                lines.append("\(unknown) value(s) are sealed by keys that are not configured: they cannot be opened "
                    + "until their key is added to \(SecretKeyring.previousKeysVariable) (or their passwords are re-applied)")
            }
            return TextTable.render(rows) + "\n\n" + lines.joined(separator: "\n")
        }
    }
}
