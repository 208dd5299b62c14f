import Foundation
import Logging
import MailCore
import MailCrypto
import MailProvisioning
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// An OAuth mailbox configured the way operators do it: a manifest with a client for the test token
/// server and an account on the test Dovecot with `auth: oauth2`, a login imported with
/// `OAuthTokens.importLogin` (what `mailroom oauth import` runs), then a real poll; and
/// `mailroom status` warning about the client secret that expires soon.
@Suite(.serialized) struct OAuthManifestTests {
    struct Setup: Sendable {
        let f: WorkerFixture
        let tokens: TestTokenServer
        let tenant: TenantID
        let slug: String
        let box: TestMailbox
    }

    static func day(_ offset: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(Double(offset) * 86_400))
    }

    static func setUp(_ prefix: String) async throws -> Setup {
        let f = try await WorkerFixture.make()
        let tokens = try TestTokenServer.fromEnvironment()
        let box = try f.server.createMailbox(prefix: prefix)
        let slug = TestDatabase.uniqueSlug(prefix)
        let yaml = """
            tenant: \(slug)
            users: [{username: root, name: Admin, emails: [root@\(slug).test], admin: true}]
            oauth_clients:
              - name: test
                provider: generic
                client_id: mailroom-tests
                client_secret: env:TEST_CLIENT_SECRET
                secret_expires_at: \(day(10))
                token_url: "\(tokens.tokenURL)"
                scopes: [mail]
              - {name: later, provider: generic, client_id: other, client_secret: env:TEST_CLIENT_SECRET,
                 secret_expires_at: \(day(90)), token_url: "https://idp.example.test/token", scopes: [mail]}
            group_accounts:
              - name: Support
                address: \(box.address)
                imap: {auth: oauth2, oauth_client: test, host: \(f.server.host), port: \(f.server.imapPort),
                       security: starttls, verify_tls: false}
            """
        var environment = ["TEST_CLIENT_SECRET": "test-client-secret"]
        environment[OutboundPolicy.insecureHostsVariable] = ProcessInfo.processInfo.environment[OutboundPolicy.insecureHostsVariable]
        let manifest = try ManifestParser.parse(yaml, environment: environment)
        let tenant = try await ManifestApplier(secrets: SecretBox(key: f.key)).apply(manifest, to: f.pool).tenantID
        return Setup(f: f, tokens: tokens, tenant: tenant, slug: slug, box: box)
    }

    @Test func aManifestConfiguredAccountPollsWithAnImportedLogin() async throws {
        let s = try await Self.setUp("oauth-manifest")
        let grant = try await s.tokens.makeUser(s.box.address, ttl: 60)
        let (account, client, auth) = try await s.f.query(s.tenant) { conn in
            let row = try conn.query("SELECT id, oauth_client_id, imap_auth, imap_secret IS NULL FROM mail_account WHERE name = 'Support'").one()
            return (try row.decode(AccountID.self, at: 0), try row.decode(Int64.self, at: 1),
                    try row.decode(String.self, at: 2) + (try row.decode(Bool.self, at: 3) ? " no-password" : ""))
        }
        #expect(auth == "oauth2 no-password")
        var logger = Logger(label: "test.oauth")
        logger.logLevel = .critical
        // The sealed client secret is opened for the token request: a wrong context would fail here.
        let tokens = OAuthTokens(pool: s.f.pool, keyring: try SecretKeyring(current: s.f.key), policy: s.f.server.outboundPolicy, logger: logger)
        _ = try await tokens.importLogin(tenant: s.tenant, account: account, client: client, refreshToken: grant.refreshToken)

        try s.f.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-manifest-1@x.test", subject: "Via manifest")])
        let reports = try await s.f.importAll(s.tenant)
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
        #expect(try await s.f.count(s.tenant, "SELECT count(*) FROM email WHERE subject = 'Via manifest'") == 1)
    }

    @Test func statusWarnsAboutAClientSecretExpiringWithinThirtyDays() async throws {
        let s = try await Self.setUp("oauth-expiry")
        let run = try await MailroomBinary.run(["status", "--tenant", s.slug, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let t = try #require((doc["tenants"] as? [[String: Any]])?.first)
        let expiring = try #require(t["oauth_client_secrets_expiring"] as? [[String: Any]])
        #expect(expiring.map { $0["client"] as? String } == ["test"])
        #expect(expiring.first?["provider"] as? String == "generic")
        #expect(expiring.first?["expired"] as? Bool == false)
        #expect((expiring.first?["expires_at"] as? String)?.hasPrefix(Self.day(10)) == true)
        let left = try #require(expiring.first?["seconds_left"] as? Double)
        #expect(left > 9 * 86_400 && left <= 10 * 86_400)

        let table = try await MailroomBinary.run(["status", "--tenant", s.slug])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("client secret expires"))
        let line = try #require(table.stdout.split(separator: "\n").first { $0.contains(" test ") && $0.contains("generic") })
        #expect(line.contains(s.slug))
        #expect(!table.stdout.contains("later"))
    }

    @Test func theWorkerGaugeCountsExpiringClientSecretsPerTenant() async throws {
        let s = try await Self.setUp("oauth-gauge")
        let metrics = WorkerMetrics()
        var logger = Logger(label: "test.maintenance")
        logger.logLevel = .critical
        let maintenance = Maintenance(pool: s.f.pool, conninfo: try TestDatabase.url(), metrics: metrics, logger: logger, onNewWork: {})
        await maintenance.publishSecretExpiry()
        let text = metrics.render()
        #expect(text.contains("# TYPE mailroom_oauth_client_secrets_expiring gauge"))
        // "test" expires in 10 days, "later" in 90.
        #expect(text.contains("mailroom_oauth_client_secrets_expiring{tenant=\"\(s.slug)\"} 1.0"))
        // 85 days on, both are within the window.
        await maintenance.publishSecretExpiry(now: Date().addingTimeInterval(85 * 86_400))
        #expect(metrics.render().contains("mailroom_oauth_client_secrets_expiring{tenant=\"\(s.slug)\"} 2.0"))
    }
}
