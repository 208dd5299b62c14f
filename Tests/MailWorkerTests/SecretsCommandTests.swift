import Foundation
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting
import Testing

/// `mailroom secrets rotate` through the real binary, on a database of its own (the command walks every
/// tenant, and the shared database holds other tests' tenants sealed by other keys).
@Suite struct SecretsCommandTests {
    static func manifest(_ slug: String) throws -> Manifest {
        try ManifestParser.parse("""
            tenant: \(slug)
            teams: [{name: support, positions: [agent]}]
            users: [{username: alice, emails: [alice@\(slug).test], teams: {support: agent}}]
            group_accounts:
              - name: Support
                address: support@\(slug).test
                imap: {host: 127.0.0.1, username: support, password: env:PW}
                smtp: {host: 127.0.0.1, username: support, password: env:PW}
                teams: [support]
            """, environment: ["PW": "Rotate-Me-Password-1"])
    }

    @Test func rotatesEveryTenantThenCheckSaysTheOldKeyCanGo() async throws {
        let (url, name, pool) = try await TestDatabase.createMigratedDatabase(connections: 2)
        defer { pool.close() }
        let old = SecretKey.random(), new = SecretKey.random()
        var tenants: [TenantID] = []
        for slug in ["rot-a", "rot-b", "rot-c"] {
            tenants.append(try await ManifestApplier(secrets: SecretBox(key: old)).apply(try Self.manifest(slug), to: pool).tenantID)
        }
        // One tenant deactivated: rotation must reach it too.
        _ = try await pool.withConnection { try $0.execute("UPDATE tenant SET is_active = false WHERE slug = 'rot-c'") }
        let env = ["MAILROOM_DATABASE_URL": url, "MAILROOM_SECRET_KEY": new.hexEncoded,
                   "MAILROOM_PREVIOUS_SECRET_KEYS": old.hexEncoded]
        let secrets = ["Rotate-Me-Password-1", new.hexEncoded, old.hexEncoded]

        let before = try await MailroomBinary.run(["secrets", "rotate", "--check"], env: env)
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout.contains("\(old.keyID)  previous  6"), "\(before.stdout)")
        #expect(before.stdout.contains("6 value(s) are still sealed by other keys"))

        let run = try await MailroomBinary.run(["secrets", "rotate", "--batch-size", "1"], env: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("re-sealed 6 value(s) under key \(new.keyID) in 3 tenant(s)"), "\(run.stdout)")

        let after = try await MailroomBinary.run(["secrets", "rotate", "--check"], env: env)
        #expect(after.stdout.contains("\(new.keyID)  current  6"), "\(after.stdout)")
        #expect(after.stdout.contains("previous keys can be dropped"))
        let again = try await MailroomBinary.run(["secrets", "rotate"], env: env)
        #expect(again.status == 0 && again.stdout.contains("re-sealed 0 value(s)"), "\(again.stdout)")

        // The new key alone opens every value.
        let alone = SecretBox(key: new)
        for tenant in tenants {
            let values = try await pool.transaction(tenant: tenant) { conn in
                try conn.query("SELECT id, imap_secret, smtp_secret FROM mail_account").map {
                    (try $0.decode(AccountID.self, at: 0), try $0.decode([UInt8].self, at: 1), try $0.decode([UInt8].self, at: 2))
                }
            }
            for (id, imap, smtp) in values {
                #expect(try alone.openSecret(imap, context: MailAccountRecord.secretContext(tenant: tenant, account: id, field: "imap_secret"))
                    == Secret("Rotate-Me-Password-1"))
                #expect(try alone.openSecret(smtp, context: MailAccountRecord.secretContext(tenant: tenant, account: id, field: "smtp_secret"))
                    == Secret("Rotate-Me-Password-1"))
            }
        }
        for output in [before, run, after, again] {
            for secret in secrets { #expect(!(output.stdout + output.stderr).contains(secret)) }
        }
        pool.close()
        try await TestDatabase.dropDatabase(name)
    }

    /// Without the old key the command cannot open what it sealed: it says which key is missing, changes
    /// nothing and exits 1; a malformed previous-key list is refused before anything is read.
    @Test func missingOrMalformedPreviousKeyIsAClearErrorWithoutSecrets() async throws {
        let (url, name, pool) = try await TestDatabase.createMigratedDatabase(connections: 2)
        defer { pool.close() }
        let old = SecretKey.random(), new = SecretKey.random()
        _ = try await ManifestApplier(secrets: SecretBox(key: old)).apply(try Self.manifest("rot-missing"), to: pool)

        let missing = try await MailroomBinary.run(["secrets", "rotate"], env: ["MAILROOM_DATABASE_URL": url, "MAILROOM_SECRET_KEY": new.hexEncoded])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("sealed by key \(old.keyID)"), "\(missing.stderr)")
        #expect(missing.stderr.contains("2 value(s) left as they were"))

        let malformed = "\(old.hexEncoded),not-a-key"
        let bad = try await MailroomBinary.run(["secrets", "rotate"], env: ["MAILROOM_DATABASE_URL": url, "MAILROOM_SECRET_KEY": new.hexEncoded,
                                                                     "MAILROOM_PREVIOUS_SECRET_KEYS": malformed])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("MAILROOM_PREVIOUS_SECRET_KEYS: item 2 is not a key"), "\(bad.stderr)")
        for output in [missing, bad] {
            for secret in ["Rotate-Me-Password-1", new.hexEncoded, old.hexEncoded, "not-a-key"] {
                #expect(!(output.stdout + output.stderr).contains(secret))
            }
        }
        let check = try await MailroomBinary.run(["secrets", "rotate", "--check"], env: ["MAILROOM_DATABASE_URL": url, "MAILROOM_SECRET_KEY": new.hexEncoded])
        #expect(check.stdout.contains("\(old.keyID)  unknown  2"), "\(check.stdout)")
        #expect(check.stdout.contains("2 value(s) are sealed by keys that are not configured"))
        pool.close()
        try await TestDatabase.dropDatabase(name)
    }
}
