import ArgumentParser
import Foundation
import MailCrypto
import MailProvisioning
import MailStore
import MailTransport

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update one tenant from a manifest (see docs/manifest.md). Applying it twice changes nothing.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The manifest YAML file.")
    var file: String

    @Flag(help: "Only check the manifest; write nothing.")
    var check = false

    func run() async throws {
        try global.bootstrapLogging()
        guard let yaml = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ValidationError("cannot read \(file)")
        }
        let manifest: Manifest
        switch ManifestParser.check(yaml, environment: global.environment) {
        case .success(let m): manifest = m
        case .failure(let errors):
            for e in errors.errors { FileHandle.standardError.write(Data("\(file): \(e)\n".utf8)) }
            throw ExitCode(2)
        }
        // Webhook hosts resolved now: a name pointing inside the network is refused before it is stored
        // (the workers judge every connection again).
        let policy = try global.outboundSettings().policy
        var refused = false
        for (i, w) in manifest.webhooks.enumerated() {
            do { try WebhookTarget(url: w.url, policy: policy).check() } catch {
                FileHandle.standardError.write(Data("\(file): webhooks[\(i)].url: \(error.detail)\n".utf8))
                refused = true
            }
        }
        if refused { throw ExitCode(2) }
        if check {
            print("\(file): ok (tenant \(manifest.tenant.slug))")
            return
        }
        let pool = try global.makePool(connections: 1)
        defer { pool.close() }
        _ = try await MigrateCommand.migrate(pool: pool, directory: global.migrations)
        let outcome = try await ManifestApplier(secrets: SecretBox(keyring: try global.resolveKeyring())).apply(manifest, to: pool)
        print(outcome.changes == 0
              ? "tenant \(manifest.tenant.slug): unchanged"
              : "tenant \(manifest.tenant.slug): applied (\(outcome.changes) rows changed)")
    }
}
