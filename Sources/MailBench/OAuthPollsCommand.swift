import ArgumentParser
import Foundation
import Logging
import MailCore
import MailCrypto
import MailStore
import MailTesting
import MailWorker

/// The cost of OAuth on the hot path: empty polls per second of accounts that log in with a bearer
/// token, against accounts that log in with a password, in the same run, on the same Dovecot and
/// with the worker's kept IMAP connections. The difference is the token lookup each poll makes (a
/// read of the grant and an open of the sealed token); refreshes are rare (tokens live an hour here)
/// and not part of the ratio.
struct OAuthPollsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth-polls",
        abstract: "Empty polls per second, OAuth accounts against password accounts (docs/benchmarks.md).")

    @Option(help: "Accounts of each kind.")
    var accounts = 40

    @Option(help: "Seconds each kind polls per round.")
    var seconds = 15.0

    @Option(help: "Rounds; the order of the two kinds alternates between rounds.")
    var rounds = 4

    func run() async throws {
        let pool = try await TestDatabase.pool()
        let server = try TestMailServer.fromEnvironment()
        let tokens = try TestTokenServer.fromEnvironment()
        let key = try SecretKey.fromEnvironment()
        let keyring = try SecretKeyring(current: key)
        let secrets = SecretBox(keyring: keyring)

        // Two tenants of `accounts` group accounts each on distinct mailboxes; the second logs in with tokens.
        var kinds: [(name: String, accounts: [MailAccountRecord])] = []
        for kind in ["password", "oauth2"] {
            var boxes: [TestGroupAccount] = []
            for i in 0..<accounts {
                let box = try server.createMailbox(prefix: "bench-\(kind)-\(i)")
                try server.deliverToMaildir(box, messages: [Array("Message-ID: <\(UUID().uuidString)@bench.test>\r\nSubject: seed\r\n\r\nx\r\n".utf8)])
                boxes.append(TestGroupAccount(name: "A\(i)", mailbox: box))
            }
            let tenant = try await TestTenant.provision(slug: TestDatabase.uniqueSlug("oauth-polls-\(kind)"), accounts: boxes,
                                                        server: server, secrets: secrets, pool: pool)
            if kind == "oauth2" {
                var grants: [String: TestTokenServer.Grant] = [:]
                for b in boxes { grants[b.mailbox.address] = try await tokens.makeUser(b.mailbox.address, ttl: 3600) }
                let granted = grants
                try await pool.transaction(tenant: tenant) { conn in
                    let client = try TestOAuth.registerClient(conn, tenant: tenant, tokens: tokens)
                    for row in try conn.query("SELECT id, address FROM mail_account") {
                        let account: AccountID = try row.decode(at: 0)
                        try conn.execute("""
                            UPDATE mail_account SET imap_auth = 'oauth2', oauth_client_id = \(client), imap_secret = NULL WHERE id = \(account)
                            """)
                        try TestOAuth.storeLogin(conn, tenant: tenant, account: account, grant: granted[try row.decode(String.self, at: 1)]!,
                                                 keyring: keyring)
                    }
                }
            }
            let records = try await pool.transaction(tenant: tenant) { try MailAccountQueries.mailAccountListPollable($0, tenant: tenant) }
            kinds.append((kind, records))
        }

        var settings = ImportSettings()
        settings.outboundPolicy = server.outboundPolicy
        var logger = Logger(label: "bench.oauth-polls")
        logger.logLevel = .error
        let runner = ImportRunner(pool: pool, secrets: secrets, settings: settings, logger: logger, sessions: IMAPSessionCache())
        // Warm-up: every account imports its seed message and keeps a logged-in connection.
        for (_, accounts) in kinds { for a in accounts { _ = await runner.pollAccountUntilIdle(a) } }

        var rates: [String: [Double]] = [:]
        for round in 0..<rounds {
            let order = round % 2 == 0 ? kinds : kinds.reversed()
            for (name, accounts) in order {
                let rate = try await Self.pollRate(runner, accounts, seconds: seconds)
                rates[name, default: []].append(rate)
                print("round \(round + 1)  \(name.padding(toLength: 8, withPad: " ", startingAt: 0))  " + String(format: "%8.1f polls/s", rate))
            }
        }
        let password = Self.median(rates["password"]!), oauth = Self.median(rates["oauth2"]!)
        print(String(format: "median  password %.1f polls/s, oauth2 %.1f polls/s, ratio %.2f", password, oauth, oauth / password))
    }

    /// Empty polls per second of `accounts`, round-robin for `seconds`; an error in any poll fails the run.
    static func pollRate(_ runner: ImportRunner, _ accounts: [MailAccountRecord], seconds: Double) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var polls = 0
        while clock.now - start < .seconds(seconds) {
            for a in accounts {
                let reports = await runner.pollAccount(a)
                if let error = reports.compactMap(\.error).first { throw BenchFailure("poll of \(a.name) failed: \(error)") }
                polls += 1
            }
        }
        let elapsed = clock.now - start
        return Double(polls) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
