import Foundation
import MailCore
import MailCrypto
import MailProvisioning
import MailStore
import MailTesting

/// One group account of the run: its tenant, its name in the manifest and its fresh Dovecot mailbox.
struct ChaosAccount: Sendable, Hashable {
    var tenantSlug: String
    var name: String
    var mailbox: TestMailbox
}

/// A tenant of the run and the id the applier gave it.
struct ChaosTenant: Sendable {
    var slug: String
    var id: TenantID
    var accounts: [ChaosAccount]
}

/// What a run works on: a database of its own (created on the test server, migrated, dropped at the end)
/// and two tenants with three group accounts on fresh mailboxes, provisioned through the real manifest path.
struct ChaosSetup: Sendable {
    let url: String
    let databaseName: String
    let pool: PostgresPool
    let tenants: [ChaosTenant]

    var accounts: [ChaosAccount] { tenants.flatMap(\.accounts) }

    /// With `oauthAccounts` > 0, a third tenant `chaos-oauth` whose accounts log in with OAuth tokens
    /// from `tokens` that live `tokenLifetime` seconds (refresh tokens rotate strictly).
    static func make(server: TestMailServer, key: SecretKey, oauthAccounts: Int = 0, tokens: TestTokenServer? = nil,
                     tokenLifetime: Int = 60) async throws -> ChaosSetup {
        let (url, name) = try await TestDatabase.createDatabase()
        let pool = PostgresPool(.init(conninfo: url, maxConnections: 4, applicationName: "mailroom-chaos"))
        let migrator = try Migrator(directory: TestDatabase.migrationsDirectory)
        _ = try await pool.withConnection { try migrator.apply(on: $0) }
        var plan: [(slug: String, accounts: [String])] = [("chaos-acme", ["Support", "Sales"]), ("chaos-globex", ["Help"])]
        if oauthAccounts > 0 { plan.append(("chaos-oauth", (0..<oauthAccounts).map { "OAuth\($0)" })) }
        var tenants: [ChaosTenant] = []
        for (slug, names) in plan {
            let accounts = try names.map {
                ChaosAccount(tenantSlug: slug, name: $0, mailbox: try server.createMailbox(prefix: "chaos-\($0)"))
            }
            for a in accounts { try server.createFolder(a.mailbox, folder: "INBOX") }
            let id = try await provision(slug: slug, accounts: accounts, server: server, key: key, pool: pool)
            if slug == "chaos-oauth", let tokens {
                var grants: [String: TestTokenServer.Grant] = [:]
                for a in accounts { grants[a.mailbox.address] = try await tokens.makeUser(a.mailbox.address, ttl: tokenLifetime) }
                let granted = grants
                let keyring = try SecretKeyring(current: key)
                try await pool.transaction(tenant: id) { conn in
                    let client = try TestOAuth.registerClient(conn, tenant: id, tokens: tokens)
                    // alice queues the run's outgoing mail (OAuthSendFeeder).
                    try conn.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'")
                    for row in try conn.query("SELECT id, address FROM mail_account") {
                        let account: AccountID = try row.decode(at: 0)
                        // Reads and sends with the token: XOAUTH2 to Dovecot, and to Postfix's submission
                        // port, which asks Dovecot's SASL (so the token server) about it.
                        try conn.execute("""
                            UPDATE mail_account SET imap_auth = 'oauth2', oauth_client_id = \(client), imap_secret = NULL,
                                smtp_auth = 'oauth2', smtp_secret = NULL, smtp_host = \(server.host), smtp_port = \(server.submissionPort),
                                smtp_security = 'starttls', smtp_verify_tls = false, smtp_shared = true
                            WHERE id = \(account)
                            """)
                        try TestOAuth.storeLogin(conn, tenant: id, account: account, grant: granted[try row.decode(String.self, at: 1)]!,
                                                 keyring: keyring)
                    }
                }
            }
            tenants.append(ChaosTenant(slug: slug, id: id, accounts: accounts))
        }
        return ChaosSetup(url: url, databaseName: name, pool: pool, tenants: tenants)
    }

    /// Applies a manifest with the tenant's group accounts (polled every 10 s).
    private static func provision(slug: String, accounts: [ChaosAccount], server: TestMailServer, key: SecretKey,
                                  pool: PostgresPool) async throws -> TenantID {
        try await TestTenant.provision(
            slug: slug, accounts: accounts.map {
                // Support opens a case per new thread, so the run checks case.created events too. All chaos
                // mail comes from one sender: the storm breaker is lifted, or it would stop at 20 cases.
                let cases = $0.name == "Support" ? [
                    "case: {create: true, distribution: direct, team: support, assign_to: alice, sender_limit: {cases: 10000, reopens: 10000}}",
                ] : []
                return TestGroupAccount(name: $0.name, mailbox: $0.mailbox, extra: ["poll_interval: 10s"] + cases)
            },
            server: server, secrets: SecretBox(key: key), pool: pool)
    }

    func tearDown() async {
        pool.close()
        try? await TestDatabase.dropDatabase(databaseName)
    }
}
