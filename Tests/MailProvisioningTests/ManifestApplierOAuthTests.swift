import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing
@testable import MailProvisioning

/// `mailroom apply` of OAuth clients and accounts that log in with a token, against the real database.
@Suite struct ManifestApplierOAuthTests {
    func manifest(_ slug: String, secret: String = "m365-client-secret") throws -> Manifest {
        let yaml = oauthManifest().replacingOccurrences(of: "tenant: acme", with: "tenant: \(slug)")
        return try ManifestParser.parse(yaml, environment: ["M365_SECRET": secret])
    }

    /// Every row the OAuth manifest writes, with its row version.
    func snapshot(_ pool: PostgresPool, _ tenant: TenantID) async throws -> [String] {
        try await pool.transaction(tenant: tenant) { conn in
            var out: [String] = []
            for table in ["app_user", "oauth_client", "mail_account", "mail_folder", "email_address_owner"] {
                out += try conn.query(SQL(unsafeSQL: "SELECT '\(table):' || xmin::text || ':' || t::text FROM \(table) t ORDER BY 1"))
                    .map { try $0.decode(String.self, at: 0) }
            }
            return out
        }
    }

    @Test func storesClientsAndOAuthAccounts() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let tenant = try await ManifestApplier(secrets: box).apply(try manifest(TestDatabase.uniqueSlug("oauth-apply")), to: pool).tenantID
        try await pool.transaction(tenant: tenant) { conn in
            let clients = try conn.query("""
                SELECT id, name || '|' || provider || '|' || client_id || '|' || directory || '|' || token_url || '|'
                       || coalesce(authorization_url, '-') || '|' || coalesce(device_authorization_url, '-') || '|'
                       || array_to_string(scopes, ' ') || '|' || coalesce(to_char(secret_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '-'),
                       client_secret
                FROM oauth_client ORDER BY name
                """).map { (try $0.decode(Int64.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode([UInt8]?.self, at: 2)) }
            #expect(clients.map(\.1) == [
                "gmail|google|g-client|organizations|https://oauth2.googleapis.com/token|https://accounts.google.com/o/oauth2/v2/auth"
                    + "|https://oauth2.googleapis.com/device/code|https://mail.google.com/|-",
                "m365|microsoft|00000000-0000-0000-0000-000000000000|organizations"
                    + "|https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
                    + "|https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
                    + "|https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode"
                    + "|https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access|2027-06-30 00:00",
            ])
            #expect(clients[0].2 == nil)
            let m365 = clients[1]
            let sealed = try #require(m365.2)
            #expect(!String(decoding: sealed, as: UTF8.self).contains("m365-client-secret"))
            let opened = try box.openSecret(sealed, context: OAuthClientRecord.secretContext(tenant: tenant, client: m365.0))
            #expect(opened.value == "m365-client-secret")
            // Bound to its row: another client's context does not open it.
            #expect(throws: (any Error).self) { try box.openSecret(sealed, context: OAuthClientRecord.secretContext(tenant: tenant, client: clients[0].0)) }

            let accounts = try conn.query("""
                SELECT a.name || '|' || a.imap_auth || '|' || a.imap_host || ':' || a.imap_port || '/' || a.imap_security || '|'
                       || coalesce(a.smtp_auth || ' ' || a.smtp_host || ':' || a.smtp_port || '/' || a.smtp_security, '-') || '|'
                       || c.name || '|' || (a.imap_secret IS NULL) || (a.smtp_secret IS NULL)
                FROM mail_account a JOIN oauth_client c ON c.tenant_id = a.tenant_id AND c.id = a.oauth_client_id ORDER BY a.name
                """).map { try $0.decode(String.self, at: 0) }
            #expect(accounts == [
                "Alice Mail|oauth2|imap.gmail.com:993/tls|-|gmail|truetrue",
                "Support|oauth2|outlook.office365.com:993/tls|oauth2 smtp.office365.com:587/starttls|m365|truetrue",
            ])
        }
        // What the worker reads for a token request.
        let client = try await pool.transaction(tenant: tenant) { conn in
            let id: Int64 = try conn.query("SELECT id FROM oauth_client WHERE name = 'm365'").one().decode(at: 0)
            return try OAuthGrantQueries.clientGet(conn, tenant: tenant, id: id)
        }
        #expect(client?.tokenURL == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token")
        #expect(client?.scopes.count == 3)
    }

    @Test func applyingTwiceChangesNothing() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let m = try manifest(TestDatabase.uniqueSlug("oauth-twice"))
        let first = try await ManifestApplier(secrets: box).apply(m, to: pool)
        let before = try await snapshot(pool, first.tenantID)
        #expect(before.contains { $0.hasPrefix("oauth_client:") })
        let second = try await ManifestApplier(secrets: box).apply(m, to: pool)
        #expect(second.changes == 0)
        #expect(try await snapshot(pool, first.tenantID) == before)
    }

    @Test func aChangedClientSecretIsResealedAndAccountsMoveFromPasswordsToTokens() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let slug = TestDatabase.uniqueSlug("oauth-change")
        // First with passwords (no OAuth use), then the same accounts switched to OAuth.
        let passwords = oauthManifest(replacing: [
            14: "    imap: {host: imap.acme.test, password: env:PW}",
            15: "    smtp: {host: smtp.acme.test, password: env:PW}",
        ]).replacingOccurrences(of: "tenant: acme", with: "tenant: \(slug)")
            .replacingOccurrences(of: "imap: {auth: oauth2, oauth_client: gmail}", with: "imap: {host: imap.gmail.com, password: env:PW}")
        let tenant = try await ManifestApplier(secrets: box).apply(
            try ManifestParser.parse(passwords, environment: ["M365_SECRET": "one", "PW": "pw"]), to: pool).tenantID
        let unused = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT count(*) FROM mail_account WHERE oauth_client_id IS NULL AND imap_auth = 'password' AND imap_secret IS NOT NULL")
                .one().decode(Int64.self, at: 0)
        }
        #expect(unused == 2)
        let outcome = try await ManifestApplier(secrets: box).apply(try manifest(slug, secret: "two"), to: pool)
        #expect(outcome.changes > 0)
        try await pool.transaction(tenant: tenant) { conn in
            let row = try conn.query("SELECT id, client_secret FROM oauth_client WHERE name = 'm365'").one()
            let id: Int64 = try row.decode(at: 0)
            #expect(try box.openSecret(try row.decode([UInt8].self, at: 1), context: OAuthClientRecord.secretContext(tenant: tenant, client: id)).value == "two")
            #expect(try conn.query("""
                SELECT count(*) FROM mail_account WHERE imap_auth = 'oauth2' AND imap_secret IS NULL AND smtp_secret IS NULL
                """).one().decode(Int64.self, at: 0) == 2)
        }
    }

    @Test func onlySMTPWithATokenStillLinksTheClient() async throws {
        let pool = try await TestDatabase.pool()
        let box = SecretBox(key: .random())
        let slug = TestDatabase.uniqueSlug("oauth-smtp-only")
        let yaml = oauthManifest(replacing: [14: "    imap: {host: imap.acme.test, password: env:PW}"])
            .replacingOccurrences(of: "tenant: acme", with: "tenant: \(slug)")
        let tenant = try await ManifestApplier(secrets: box).apply(
            try ManifestParser.parse(yaml, environment: ["M365_SECRET": "s", "PW": "pw"]), to: pool).tenantID
        let row = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("""
                SELECT a.imap_auth || ' ' || a.smtp_auth || ' ' || c.name || ' ' || (a.imap_secret IS NOT NULL) || ' ' || (a.smtp_secret IS NULL)
                FROM mail_account a JOIN oauth_client c ON c.tenant_id = a.tenant_id AND c.id = a.oauth_client_id
                WHERE a.name = 'Support'
                """).one().decode(String.self, at: 0)
        }
        #expect(row == "password oauth2 m365 true true")
    }
}

