import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailCrypto
@testable import MailProvisioning

/// `SecretRotation` against the real database: tenants provisioned through the manifest applier under an old
/// key, then rotated to a new one. Each test rotates only its own tenant (the database is shared).
@Suite struct SecretRotationTests {
    /// A fresh tenant made by `provision(slug:…)`.
    static func provision(_ prefix: String, accounts: Int, box: SecretBox, pool: PostgresPool) async throws -> (TenantID, String) {
        let slug = TestDatabase.uniqueSlug(prefix)
        return (try await provision(slug: slug, accounts: accounts, box: box, pool: pool), slug)
    }

    /// Every stored secret of the tenant: (account, column, sealed bytes, expected plaintext).
    static func stored(_ tenant: TenantID, pool: PostgresPool) async throws -> [(AccountID, String, [UInt8], String)] {
        try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT id, name, imap_secret, smtp_secret FROM mail_account ORDER BY id").flatMap { row in
                let id: AccountID = try row.decode(at: 0)
                let n = try row.decode(String.self, at: 1).dropFirst("Box ".count)
                return [(id, "imap_secret", try row.decode([UInt8].self, at: 2), "imap-password-\(n)"),
                        (id, "smtp_secret", try row.decode([UInt8].self, at: 3), "smtp-password-\(n)")]
            }
        }
    }

    static func opens(_ box: SecretBox, _ tenant: TenantID, _ value: (AccountID, String, [UInt8], String)) -> Bool {
        let context = MailAccountRecord.secretContext(tenant: tenant, account: value.0, field: value.1)
        return (try? box.openSecret(value.2, context: context)) == Secret(value.3)
    }

    @Test func rotatedValuesOpenWithTheNewKeyAlone() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (tenant, slug) = try await Self.provision("rotate", accounts: 3, box: SecretBox(key: old), pool: pool)
        let rotation = SecretRotation(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])), batchSize: 2)

        let before = try await rotation.check(pool: pool, only: [slug])
        #expect(before == [.init(sealer: .key(old.keyID), role: .previous, count: 6)])

        let report = try await rotation.rotate(pool: pool, only: [slug])
        #expect(report == SecretRotation.Report(tenants: 1, resealed: 6, failures: [], stoppedAtLimit: false))
        let values = try await Self.stored(tenant, pool: pool)
        #expect(values.count == 6)
        let newAlone = SecretBox(key: new)
        for value in values {
            #expect(Self.opens(newAlone, tenant, value))
            #expect(!Self.opens(SecretBox(key: old), tenant, value))
            #expect(SecretBox.sealer(of: value.2) == .key(new.keyID))
        }
        #expect(try await rotation.check(pool: pool, only: [slug]) == [.init(sealer: .key(new.keyID), role: .current, count: 6)])

        // Idempotent: a second run finds nothing to do and writes nothing.
        let again = try await rotation.rotate(pool: pool, only: [slug])
        #expect(again.resealed == 0 && again.failures.isEmpty)
        #expect(try await Self.stored(tenant, pool: pool).map(\.2) == values.map(\.2))
    }

    /// A run stopped part way (here by `limit`, as a crash would) leaves some values under each key: the new
    /// key alone no longer opens everything, both keys do, and the next run finishes the job.
    @Test func midRotationBothKeysAreNeededAndWork() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (tenant, slug) = try await Self.provision("rotate-mid", accounts: 4, box: SecretBox(key: old), pool: pool)
        let both = SecretBox(keyring: try SecretKeyring(current: new, previous: [old]))
        let rotation = SecretRotation(secrets: both, batchSize: 2)

        let partial = try await rotation.rotate(pool: pool, only: [slug], limit: 3)
        #expect(partial.resealed == 3 && partial.stoppedAtLimit)
        let values = try await Self.stored(tenant, pool: pool)
        #expect(values.filter { Self.opens(SecretBox(key: new), tenant, $0) }.count == 3)
        #expect(values.filter { Self.opens(SecretBox(key: old), tenant, $0) }.count == 5)
        #expect(values.allSatisfy { Self.opens(both, tenant, $0) })
        #expect(Set(try await rotation.check(pool: pool, only: [slug]).map { "\($0.role):\($0.count)" }) == ["current:3", "previous:5"])

        let rest = try await rotation.rotate(pool: pool, only: [slug])
        #expect(rest.resealed == 5 && !rest.stoppedAtLimit)
        #expect(try await Self.stored(tenant, pool: pool).allSatisfy { Self.opens(SecretBox(key: new), tenant, $0) })
    }

    /// Values sealed before key ids existed (format 1, the master key itself) are rotated too.
    @Test func formatOneValuesAreRotated() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (tenant, slug) = try await Self.provision("rotate-v1", accounts: 1, box: SecretBox(key: old), pool: pool)
        let account = try #require(try await Self.stored(tenant, pool: pool).first?.0)
        let context = MailAccountRecord.secretContext(tenant: tenant, account: account, field: "imap_secret")
        let nonce = SecureRandom.bytes(12)
        let v1 = [UInt8(1)] + nonce + (try AESGCM.seal(key: old.bytes, plaintext: Array("imap-password-0".utf8),
                                                     aad: Array(context.utf8), nonce: nonce))
        _ = try await pool.transaction(tenant: tenant) { conn in
            try conn.execute("UPDATE mail_account SET imap_secret = \(v1) WHERE id = \(account)")
        }
        let rotation = SecretRotation(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])))
        #expect(Set(try await rotation.check(pool: pool, only: [slug]).map { "\($0.role):\($0.count)" }) == ["legacy:1", "previous:1"])
        #expect(try await rotation.rotate(pool: pool, only: [slug]).resealed == 2)
        #expect(try await Self.stored(tenant, pool: pool).allSatisfy { Self.opens(SecretBox(key: new), tenant, $0) })
    }

    /// After an upgrade: format-1 values sealed by the unchanged master key move to format 2 with no previous
    /// keys configured.
    @Test func formatOneValuesMoveToTheDerivedKeyWithoutAKeyChange() async throws {
        let pool = try await TestDatabase.pool()
        let master = SecretKey.random()
        let (tenant, slug) = try await Self.provision("rotate-upgrade", accounts: 1, box: SecretBox(key: master), pool: pool)
        let account = try #require(try await Self.stored(tenant, pool: pool).first?.0)
        for field in ["imap_secret", "smtp_secret"] {
            let context = MailAccountRecord.secretContext(tenant: tenant, account: account, field: field)
            let nonce = SecureRandom.bytes(12)
            let plaintext = field == "imap_secret" ? "imap-password-0" : "smtp-password-0"
            let v1 = [UInt8(1)] + nonce + (try AESGCM.seal(key: master.bytes, plaintext: Array(plaintext.utf8),
                                                         aad: Array(context.utf8), nonce: nonce))
            _ = try await pool.transaction(tenant: tenant) { conn in
                try conn.execute("UPDATE mail_account SET \(unsafeRaw: field) = \(v1) WHERE id = \(account)")
            }
        }
        let rotation = SecretRotation(secrets: SecretBox(key: master))
        #expect(try await rotation.check(pool: pool, only: [slug]).map(\.role) == [.legacy])
        #expect(try await rotation.rotate(pool: pool, only: [slug]).resealed == 2)
        #expect(try await rotation.check(pool: pool, only: [slug]) == [.init(sealer: .key(master.keyID), role: .current, count: 2)])
        #expect(try await Self.stored(tenant, pool: pool).allSatisfy { Self.opens(SecretBox(key: master), tenant, $0) })
    }

    /// A value no configured key opens is reported (tenant, account, column, key id; no secret) and left alone;
    /// the others are rotated.
    @Test func valueUnderAnUnknownKeyIsReportedAndKept() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random(), stranger = SecretKey.random()
        let (tenant, slug) = try await Self.provision("rotate-unknown", accounts: 2, box: SecretBox(key: old), pool: pool)
        let account = try #require(try await Self.stored(tenant, pool: pool).first?.0)
        let context = MailAccountRecord.secretContext(tenant: tenant, account: account, field: "smtp_secret")
        let foreign = try SecretBox(key: stranger).seal(Secret("smtp-password-0"), context: context)
        _ = try await pool.transaction(tenant: tenant) { conn in
            try conn.execute("UPDATE mail_account SET smtp_secret = \(foreign) WHERE id = \(account)")
        }
        let rotation = SecretRotation(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])))
        let report = try await rotation.rotate(pool: pool, only: [slug])
        #expect(report.resealed == 3)
        let failure = try #require(report.failures.first)
        #expect(report.failures.count == 1)
        #expect(failure.accountID == account && failure.column == "smtp_secret" && failure.tenant == slug)
        #expect(failure.description.contains(stranger.keyID.description))
        for secret in ["smtp-password-0", stranger.hexEncoded, new.hexEncoded, old.hexEncoded] {
            #expect(!failure.description.contains(secret))
        }
        let values = try await Self.stored(tenant, pool: pool)
        #expect(values.first { $0.0 == account && $0.1 == "smtp_secret" }?.2 == foreign)
        #expect(Set(try await rotation.check(pool: pool, only: [slug]).map { "\($0.role):\($0.count)" }) == ["current:3", "unknown:1"])
    }

    /// After a rotation `apply` keeps values the current key sealed, and re-seals an unchanged password that an
    /// older key sealed (so apply never writes under anything but the current key).
    @Test func applyResealsUnchangedPasswordsSealedByAnOlderKey() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (tenant, slug) = try await Self.provision("rotate-apply", accounts: 1, box: SecretBox(key: old), pool: pool)
        let both = SecretBox(keyring: try SecretKeyring(current: new, previous: [old]))
        _ = try await Self.provision(slug: slug, accounts: 1, box: both, pool: pool)
        #expect(try await Self.stored(tenant, pool: pool).allSatisfy { SecretBox.sealer(of: $0.2) == .key(new.keyID) })
    }
}

extension SecretRotationTests {
    /// A tenant `slug` (created, or updated when it exists) with `accounts` group accounts, each with an IMAP
    /// and an SMTP password, sealed by `box`.
    static func provision(slug: String, accounts: Int, box: SecretBox, pool: PostgresPool) async throws -> TenantID {
        var yaml = """
            tenant: \(slug)
            teams: [{name: support, positions: [agent]}]
            users: [{username: alice, emails: [alice@\(slug).test], teams: {support: agent}}]
            group_accounts:

            """
        var env: [String: String] = [:]
        for i in 0..<accounts {
            env["IMAP\(i)"] = "imap-password-\(i)"
            env["SMTP\(i)"] = "smtp-password-\(i)"
            yaml += """
                  - name: Box \(i)
                    address: box\(i)@\(slug).test
                    imap: {host: 127.0.0.1, security: starttls, username: box\(i), password: env:IMAP\(i)}
                    smtp: {host: 127.0.0.1, security: starttls, username: box\(i), password: env:SMTP\(i)}
                    teams: [support]

                """
        }
        return try await ManifestApplier(secrets: box).apply(try ManifestParser.parse(yaml, environment: env), to: pool).tenantID
    }
}
