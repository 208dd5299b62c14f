import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing
@testable import MailProvisioning

/// `mailroom apply` against the real database.
@Suite struct ManifestApplierTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardized.path

    func acme(slug: String, password: String = "support-pw") throws -> Manifest {
        var yaml = try String(contentsOfFile: Self.examples + "/acme.yaml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "tenant: acme", with: "tenant: \(slug)")
        return try ManifestParser.parse(yaml, environment: ["ACME_SUPPORT_PASSWORD": password])
    }

    /// Every row of the tenant with its row version: equal snapshots mean nothing was written.
    func snapshot(_ pool: PostgresPool, _ tenant: TenantID) async throws -> [String] {
        try await pool.transaction(tenant: tenant) { conn in
            var out: [String] = []
            for table in ["app_user", "team", "team_position", "team_user", "role", "user_role", "crm_account", "contact",
                          "lead", "email_address_owner", "mail_account", "mail_account_team", "mail_folder"] {
                out += try conn.query(SQL(unsafeSQL: "SELECT '\(table):' || xmin::text || ':' || t::text FROM \(table) t ORDER BY 1"))
                    .map { try $0.decode(String.self, at: 0) }
            }
            out += try conn.query("SELECT 'tenant:' || xmin::text FROM tenant WHERE id = \(tenant)").map { try $0.decode(String.self, at: 0) }
            return out
        }
    }

    @Test func applyingTwiceChangesNothing() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let manifest = try acme(slug: TestDatabase.uniqueSlug("apply"))
        let first = try await ManifestApplier(secrets: box).apply(manifest, to: pool)
        #expect(first.changes > 10)
        let before = try await snapshot(pool, first.tenantID)
        let second = try await ManifestApplier(secrets: box).apply(manifest, to: pool)
        #expect(second.tenantID == first.tenantID)
        #expect(second.changes == 0)
        #expect(try await snapshot(pool, first.tenantID) == before)
    }

    /// `tenant.settings.oauth_send_wait` lands in the tenant row (24 h when not given), and a changed
    /// value is one change.
    @Test func storesTheOAuthSendWait() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        var manifest = try acme(slug: TestDatabase.uniqueSlug("apply-wait"))
        let tenant = try await ManifestApplier(secrets: box).apply(manifest, to: pool).tenantID
        func stored() async throws -> Double {
            try await pool.transaction(tenant: tenant) {
                try $0.query("SELECT extract(epoch FROM oauth_send_wait)::float8 FROM tenant WHERE id = \(tenant)").one().decode(Double.self, at: 0)
            }
        }
        #expect(try await stored() == 86400)
        manifest.tenant.settings.oauthSendWait = .seconds(2 * 3600)
        #expect(try await ManifestApplier(secrets: box).apply(manifest, to: pool).changes == 1)
        #expect(try await stored() == 7200)
    }

    /// `imap.idle` lands in the account row (on when not given); turning it off is one change.
    @Test func storesTheIdleSetting() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        var manifest = try acme(slug: TestDatabase.uniqueSlug("apply-idle"))
        let tenant = try await ManifestApplier(secrets: box).apply(manifest, to: pool).tenantID
        func stored() async throws -> Bool {
            try await pool.transaction(tenant: tenant) {
                try $0.query("SELECT idle FROM mail_account WHERE tenant_id = \(tenant) AND name = 'Support'").one().decode(Bool.self, at: 0)
            }
        }
        #expect(try await stored() == true)
        manifest.groupAccounts[0].imap.idle = false
        #expect(try await ManifestApplier(secrets: box).apply(manifest, to: pool).changes == 1)
        #expect(try await stored() == false)
        #expect(try await ManifestApplier(secrets: box).apply(manifest, to: pool).changes == 0)
    }

    /// `tenant.settings.events` and `event_retention` land in the tenant row (on, 30 days when not
    /// given); a change is one change, and the events of the tenant stop with `events: false`.
    @Test func storesTheEventSettings() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        var manifest = try acme(slug: TestDatabase.uniqueSlug("apply-events"))
        let tenant = try await ManifestApplier(secrets: box).apply(manifest, to: pool).tenantID
        func stored() async throws -> (Bool, Double) {
            try await pool.transaction(tenant: tenant) {
                let row = try $0.query("SELECT events_enabled, extract(epoch FROM event_retention)::float8 FROM tenant WHERE id = \(tenant)").one()
                return (try row.decode(Bool.self, at: 0), try row.decode(Double.self, at: 1))
            }
        }
        #expect(try await stored() == (true, 30 * 86400))
        manifest.tenant.settings.events = false
        manifest.tenant.settings.eventRetention = .seconds(7 * 86400)
        #expect(try await ManifestApplier(secrets: box).apply(manifest, to: pool).changes == 1)
        #expect(try await stored() == (false, 7 * 86400))
    }

    /// `tenant.settings.soft_bounce_limit` and `soft_bounce_window` land in the tenant row (3 in 7 days
    /// when not given); a change is one change.
    @Test func storesTheSoftBounceSettings() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        var manifest = try acme(slug: TestDatabase.uniqueSlug("apply-bounces"))
        let tenant = try await ManifestApplier(secrets: box).apply(manifest, to: pool).tenantID
        func stored() async throws -> (Int, Double) {
            try await pool.transaction(tenant: tenant) {
                let row = try $0.query("SELECT soft_bounce_limit, extract(epoch FROM soft_bounce_window)::float8 FROM tenant WHERE id = \(tenant)").one()
                return (try row.decode(Int.self, at: 0), try row.decode(Double.self, at: 1))
            }
        }
        #expect(try await stored() == (3, 7 * 86400))
        manifest.tenant.settings.softBounceLimit = 5
        manifest.tenant.settings.softBounceWindow = .seconds(2 * 86400)
        #expect(try await ManifestApplier(secrets: box).apply(manifest, to: pool).changes == 1)
        #expect(try await stored() == (5, 2 * 86400))
    }

    @Test func storesWhatTheManifestSays() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let manifest = try acme(slug: TestDatabase.uniqueSlug("apply-facts"))
        let tenant = try await ManifestApplier(secrets: box).apply(manifest, to: pool).tenantID
        let facts = try await pool.transaction(tenant: tenant) { conn in
            let members = try conn.query("""
                SELECT u.username || ':' || coalesce(tu.position, '-') FROM team_user tu JOIN app_user u ON u.tenant_id = tu.tenant_id AND u.id = tu.user_id
                ORDER BY 1
                """).map { try $0.decode(String.self, at: 0) }
            let carolActive = try conn.query("SELECT is_active FROM app_user WHERE username = 'carol'").one().decode(Bool.self, at: 0)
            let peter = try conn.query("""
                SELECT string_agg(o.address, ',' ORDER BY o.position) || '→' || a.name FROM contact c
                JOIN email_address_owner o ON o.tenant_id = c.tenant_id AND o.contact_id = c.id
                JOIN crm_account a ON a.tenant_id = c.tenant_id AND a.id = c.account_id GROUP BY a.name
                """).one().decode(String.self, at: 0)
            let account = try conn.query("""
                SELECT address, imap_port, imap_security, extract(epoch FROM poll_interval)::int, max_message_size, case_distribution,
                       (SELECT username FROM app_user WHERE id = case_assign_user_id), imap_secret
                FROM mail_account WHERE name = 'Support'
                """).one()
            let folders = try conn.query("SELECT name FROM mail_folder").map { try $0.decode(String.self, at: 0) }
            return (members, carolActive, peter, account, folders)
        }
        #expect(facts.0 == ["alice:agent", "bob:agent", "carol:lead"])
        #expect(facts.1 == false)
        #expect(facts.2 == "peter@initech.test,pg@home.test→Initech")
        #expect(try facts.3.decode(String.self, at: 0) == "support@acme.test")
        #expect(try facts.3.decode(Int.self, at: 1) == 14143)
        #expect(try facts.3.decode(String.self, at: 2) == "starttls")
        #expect(try facts.3.decode(Int.self, at: 3) == 30)
        #expect(try facts.3.decode(Int.self, at: 4) == 10 * 1024 * 1024)
        #expect(try facts.3.decode(String.self, at: 5) == "round_robin")
        #expect(try facts.3.decode(String.self, at: 6) == "alice")
        let sealed = try facts.3.decode([UInt8].self, at: 7)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("support-pw"), "secret is encrypted at rest")
        let accountID = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(AccountID.self, at: 0)
        }
        let opened = try box.openSecret(sealed, context: MailAccountRecord.secretContext(tenant: tenant, account: accountID, field: "imap_secret"))
        #expect(opened.value == "support-pw")
        #expect(facts.4 == ["INBOX"])
    }

    @Test func aChangedPasswordIsResealedAndNothingElseMoves() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let slug = TestDatabase.uniqueSlug("apply-pw")
        let tenant = try await ManifestApplier(secrets: box).apply(try acme(slug: slug), to: pool).tenantID
        let changed = try await ManifestApplier(secrets: box).apply(try acme(slug: slug, password: "rotated"), to: pool)
        #expect(changed.changes == 1)
        let secret = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT id, imap_secret FROM mail_account WHERE name = 'Support'").one()
        }
        let opened = try box.openSecret(try secret.decode([UInt8].self, at: 1),
                                        context: MailAccountRecord.secretContext(tenant: tenant, account: try secret.decode(at: 0), field: "imap_secret"))
        #expect(opened.value == "rotated")
    }
}
