import MailCore
import MailCrypto
import MailStore
import MailTesting

/// A benchmark tenant (manifest parser and applier) whose group account "Support" submits as its own
/// Dovecot mailbox over STARTTLS + AUTH PLAIN to the test Postfix, with alice an admin who may send
/// through it.
struct BenchSender {
    let tenant: TenantID
    let account: AccountID
    let user: UserID

    /// `maxConnections`: the account's `smtp.max_connections`.
    static func provision(server: TestMailServer, key: SecretKey, pool: PostgresPool, sender: TestMailbox, slugPrefix: String,
                          maxConnections: Int) async throws -> BenchSender {
        let smtp = "smtp: {host: \(server.host), port: \(server.submissionPort), security: starttls, verify_tls: false, "
            + "password: env:TEST_PW0, shared: true, max_connections: \(maxConnections)}"
        let tenant = try await TestTenant.provision(slug: TestDatabase.uniqueSlug(slugPrefix),
                                                    accounts: [TestGroupAccount(name: "Support", mailbox: sender, extra: [smtp])],
                                                    server: server, secrets: SecretBox(key: key), pool: pool)
        let (account, user): (AccountID, UserID) = try await pool.transaction(tenant: tenant) { conn in
            try conn.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'")
            return (try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(at: 0),
                    try conn.query("SELECT id FROM app_user WHERE username = 'alice'").one().decode(at: 0))
        }
        return BenchSender(tenant: tenant, account: account, user: user)
    }
}
