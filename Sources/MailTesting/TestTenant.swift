import MailCore
import MailCrypto
import MailProvisioning
import MailStore

/// A group account of a test tenant, on a test mailbox.
public struct TestGroupAccount: Sendable {
    public var name: String
    public var mailbox: TestMailbox
    /// Extra YAML lines under `imap:`, e.g. `keep_unread: true`.
    public var imapExtra: [String]
    /// Extra YAML lines under the account, e.g. `poll_interval: 10s`.
    public var extra: [String]
    /// Overrides the IMAP port (a closed port, for server-down tests).
    public var port: Int?
    /// Overrides the password (a wrong one, for login-failure tests).
    public var password: String?

    public init(name: String, mailbox: TestMailbox, imapExtra: [String] = [], extra: [String] = [],
                port: Int? = nil, password: String? = nil) {
        self.name = name
        self.mailbox = mailbox
        self.imapExtra = imapExtra
        self.extra = extra
        self.port = port
        self.password = password
    }
}

/// Provisions test tenants the way operators do: a manifest through the real parser and applier.
/// Every tenant has users alice and bob in team `support`, contact Peter Gibbons of account Initech,
/// and the given group accounts (shared with `support`, STARTTLS to the test Dovecot). Passwords travel
/// as `env:` references, never in the YAML text.
public enum TestTenant {
    public static func provision(slug: String, accounts: [TestGroupAccount], server: TestMailServer,
                                 secrets: SecretBox, pool: PostgresPool) async throws -> TenantID {
        var env: [String: String] = [:]
        var yaml = """
            tenant: \(slug)
            teams: [{name: support, positions: [agent, lead]}]
            users:
              - {username: alice, name: Alice Archer, emails: [alice@acme.test], teams: {support: agent}}
              - {username: bob, name: Bob Baker, emails: [bob@acme.test], teams: {support: agent}}
            records:
              accounts: [{name: Initech, emails: [info@initech.test]}]
              contacts: [{name: Peter Gibbons, emails: [peter@initech.test], account: Initech}]
            group_accounts:

            """
        for (i, a) in accounts.enumerated() {
            env["TEST_PW\(i)"] = a.password ?? a.mailbox.password
            yaml += """
                  - name: \(a.name)
                    address: \(a.mailbox.address)
                    imap:
                      host: \(server.host)
                      port: \(a.port ?? server.imapPort)
                      security: starttls
                      verify_tls: false
                      username: \(a.mailbox.username)
                      password: env:TEST_PW\(i)
                \(a.imapExtra.map { "      " + $0 }.joined(separator: "\n"))
                    teams: [support]
                \(a.extra.map { "    " + $0 }.joined(separator: "\n"))

                """
        }
        let manifest = try ManifestParser.parse(yaml, environment: env)
        return try await ManifestApplier(secrets: secrets).apply(manifest, to: pool).tenantID
    }
}
