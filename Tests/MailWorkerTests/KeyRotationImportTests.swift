import Foundation
import Logging
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// A worker across a key rotation, against real Dovecot: with both keys it reads passwords sealed by either;
/// with the new key alone it cannot read the old ones (and says which key is missing, never the password) until
/// `SecretRotation` has run.
@Suite struct KeyRotationImportTests {
    func runner(_ f: WorkerFixture, _ secrets: SecretBox) -> ImportRunner {
        var settings = ImportSettings()
        settings.maxAttempts = 3
        settings.retryBaseDelay = .milliseconds(1)
        settings.outboundPolicy = f.server.outboundPolicy
        var logger = Logger(label: "test.worker")
        logger.logLevel = .critical
        return ImportRunner(pool: f.pool, secrets: secrets, settings: settings, logger: logger)
    }

    @Test func importsAcrossARotation() async throws {
        let f = try await WorkerFixture.make()
        let old = SecretKey.random(), new = SecretKey.random()
        let box = try f.server.createMailbox(prefix: "rotate")
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "rot-1@initech.test", subject: "One")])
        let slug = TestDatabase.uniqueSlug("rotate-import")
        let tenant = try await TestTenant.provision(slug: slug, accounts: [.init(name: "Support", mailbox: box)],
                                                    server: f.server, secrets: SecretBox(key: old), pool: f.pool)

        // The new key alone: the password sealed by the old one cannot be read.
        let newAlone = runner(f, SecretBox(key: new))
        let refused = try await f.importAll(tenant, runner: newAlone)
        let error = try #require(refused.compactMap(\.error).first)
        #expect(error.contains("sealed by key \(old.keyID)"), "\(error)")
        #expect(!error.contains(box.password) && !error.contains(old.hexEncoded) && !error.contains(new.hexEncoded))
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 0)

        // Both keys, as deployed before rotating: imports.
        let both = SecretBox(keyring: try SecretKeyring(current: new, previous: [old]))
        #expect(try await f.importAll(tenant, runner: runner(f, both)).reduce(0) { $0 + $1.imported } == 1)

        // Rotated: the new key alone is enough.
        #expect(try await SecretRotation(secrets: both).rotate(pool: f.pool, only: [slug]).resealed == 1)
        try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "rot-2@initech.test", subject: "Two")])
        let after = try await f.importAll(tenant, runner: newAlone)
        #expect(after.allSatisfy { $0.error == nil })
        #expect(try await f.count(tenant, "SELECT count(*) FROM email") == 2)
    }
}
