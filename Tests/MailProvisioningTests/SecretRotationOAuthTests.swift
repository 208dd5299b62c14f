import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailCrypto
@testable import MailProvisioning

/// `mailroom secrets rotate` over OAuth client secrets (credentials key) and grant tokens (oauth-token
/// key): a tenant provisioned from the OAuth manifest under an old key, with a grant sealed under it.
@Suite struct SecretRotationOAuthTests {
    struct Stored: Sendable {
        var clientID: Int64
        var clientSecret: [UInt8]
        var account: AccountID
        var refreshToken: [UInt8]
        var accessToken: [UInt8]
    }

    static func stored(_ tenant: TenantID, pool: PostgresPool) async throws -> Stored {
        try await pool.transaction(tenant: tenant) { conn in
            let client = try conn.query("SELECT id, client_secret FROM oauth_client WHERE name = 'm365'").one()
            let grant = try conn.query("SELECT account_id, refresh_token, access_token FROM oauth_grant").one()
            return Stored(clientID: try client.decode(at: 0), clientSecret: try client.decode(at: 1), account: try grant.decode(at: 0),
                          refreshToken: try grant.decode(at: 1), accessToken: try grant.decode(at: 2))
        }
    }

    /// Provisions the OAuth manifest's tenant under `old` and stores a grant for its group account.
    static func provision(old: SecretKey, pool: PostgresPool) async throws -> (TenantID, String) {
        let slug = TestDatabase.uniqueSlug("rotate-oauth")
        let yaml = oauthManifest().replacingOccurrences(of: "tenant: acme", with: "tenant: \(slug)")
        let manifest = try ManifestParser.parse(yaml, environment: ["M365_SECRET": "client-secret"])
        let tenant = try await ManifestApplier(secrets: SecretBox(key: old)).apply(manifest, to: pool).tenantID
        let tokens = SecretBox(key: old, purpose: .oauthToken)
        try await pool.transaction(tenant: tenant) { conn in
            let account: AccountID = try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(at: 0)
            func seal(_ value: String, _ field: String) throws -> [UInt8] {
                try tokens.seal(Secret(value), context: OAuthGrantRecord.tokenContext(tenant: tenant, account: account, field: field))
            }
            try OAuthGrantQueries.grantStoreLogin(conn, tenant: tenant, account: account, refreshToken: try seal("refresh", "refresh_token"),
                                                  accessToken: try seal("access", "access_token"),
                                                  expiresAt: Date().addingTimeInterval(3600), lifetime: .seconds(3600))
        }
        return (tenant, slug)
    }

    @Test func clientSecretsAndTokensAreResealedUnderTheNewKey() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (tenant, slug) = try await Self.provision(old: old, pool: pool)
        let rotation = SecretRotation(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])), batchSize: 1)
        #expect(try await rotation.check(pool: pool, only: [slug]) == [.init(sealer: .key(old.keyID), role: .previous, count: 3)])

        let report = try await rotation.rotate(pool: pool, only: [slug])
        #expect(report == SecretRotation.Report(tenants: 1, resealed: 3, failures: [], stoppedAtLimit: false))
        let s = try await Self.stored(tenant, pool: pool)
        let credentials = SecretBox(key: new), tokens = SecretBox(key: new, purpose: .oauthToken)
        #expect(try credentials.openSecret(s.clientSecret, context: OAuthClientRecord.secretContext(tenant: tenant, client: s.clientID)).value
                == "client-secret")
        #expect(try tokens.openSecret(s.refreshToken, context: OAuthGrantRecord.tokenContext(tenant: tenant, account: s.account, field: "refresh_token")).value
                == "refresh")
        #expect(try tokens.openSecret(s.accessToken, context: OAuthGrantRecord.tokenContext(tenant: tenant, account: s.account, field: "access_token")).value
                == "access")
        for sealed in [s.clientSecret, s.refreshToken, s.accessToken] { #expect(SecretBox.sealer(of: sealed) == .key(new.keyID)) }
        // Tokens stay under the oauth-token key: the credentials key does not open them.
        #expect(throws: (any Error).self) {
            try credentials.openSecret(s.refreshToken, context: OAuthGrantRecord.tokenContext(tenant: tenant, account: s.account, field: "refresh_token"))
        }
        #expect(try await rotation.check(pool: pool, only: [slug]) == [.init(sealer: .key(new.keyID), role: .current, count: 3)])

        // Idempotent; and the manifest applied again with the new key writes nothing.
        let again = try await rotation.rotate(pool: pool, only: [slug])
        #expect(again.resealed == 0 && again.failures.isEmpty)
        let yaml = oauthManifest().replacingOccurrences(of: "tenant: acme", with: "tenant: \(slug)")
        let reapplied = try await ManifestApplier(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])))
            .apply(try ManifestParser.parse(yaml, environment: ["M365_SECRET": "client-secret"]), to: pool)
        #expect(reapplied.changes == 0)
    }

    @Test func aLimitStopsMidwayAndTheNextRunFinishes() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (_, slug) = try await Self.provision(old: old, pool: pool)
        let rotation = SecretRotation(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])))
        let first = try await rotation.rotate(pool: pool, only: [slug], limit: 2)
        #expect(first.resealed == 2 && first.stoppedAtLimit)
        #expect(Set(try await rotation.check(pool: pool, only: [slug]).map { "\($0.role):\($0.count)" }) == ["current:2", "previous:1"])
        let rest = try await rotation.rotate(pool: pool, only: [slug])
        #expect(rest.resealed == 1 && !rest.stoppedAtLimit)
    }

    @Test func aTokenNoKeyOpensIsReportedWithItsTable() async throws {
        let pool = try await TestDatabase.pool()
        let old = SecretKey.random(), new = SecretKey.random()
        let (tenant, slug) = try await Self.provision(old: old, pool: pool)
        let s = try await Self.stored(tenant, pool: pool)
        // Sealed by a key the rotation does not know.
        let stranger = try SecretBox(key: .random(), purpose: .oauthToken).seal(
            Secret("x"), context: OAuthGrantRecord.tokenContext(tenant: tenant, account: s.account, field: "access_token"))
        try await pool.transaction(tenant: tenant) { conn in
            try conn.execute("UPDATE oauth_grant SET access_token = \(stranger)")
        }
        let report = try await SecretRotation(secrets: SecretBox(keyring: try SecretKeyring(current: new, previous: [old])))
            .rotate(pool: pool, only: [slug])
        #expect(report.resealed == 2)
        let failure = try #require(report.failures.first)
        #expect(report.failures.count == 1)
        #expect(failure.table == "oauth_grant" && failure.column == "access_token" && failure.accountID == s.account)
        #expect("\(failure)".hasPrefix("tenant \(slug), oauth_grant \(s.account.rawValue) access_token: "))
    }
}
