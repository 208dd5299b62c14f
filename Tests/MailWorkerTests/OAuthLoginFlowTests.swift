import Foundation
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Connecting a mailbox with OAuth from the CRM: `mailroom_oauth_begin` as the CRM's role, the browser's
/// hops through the test token server's `/authorize` and a real `mailroom worker --oauth-callback-port`,
/// then the grant at work against Dovecot. Refusals store nothing.
@Suite(.serialized) struct OAuthLoginFlowTests {
    /// What the browser comes back to: the allow-list names this prefix only.
    static let returnPrefix = "http://127.0.0.1:9/crm/"

    struct Setup: Sendable {
        let fixture: ReplicaFixture
        let worker: WorkerFixture
        let tokens: TestTokenServer
        let tenant: TenantID
        let admin: Int64, bob: Int64
        let account: AccountID
        let personal: AccountID
        let box: TestMailbox
        let port: Int
        /// The worker's log (warnings and up).
        let log: String
    }

    /// A database of its own with a tenant whose group account logs in with OAuth (no grant yet), a
    /// personal account of alice (an admin), and a worker serving the callback.
    static func setUp(_ prefix: String) async throws -> Setup {
        let fixture = try await ReplicaFixture.make()
        do {
            let server = try TestMailServer.fromEnvironment()
            let worker = WorkerFixture(pool: fixture.pool, server: server, key: try SecretKey.fromEnvironment())
            let tokens = try TestTokenServer.fromEnvironment()
            let box = try server.createMailbox(prefix: prefix)
            let (tenant, _) = try await worker.tenant(prefix, accounts: [.init(name: "Support", mailbox: box)])
            let base = tokens.baseURL.absoluteString.hasSuffix("/") ? String(tokens.baseURL.absoluteString.dropLast()) : tokens.baseURL.absoluteString
            let ids = try await worker.query(tenant) { conn -> [Int64] in
                func id(_ sql: SQL) throws -> Int64 { try conn.query(sql).one().decode(at: 0) }
                let account = try id("SELECT id FROM mail_account WHERE name = 'Support'")
                let alice = try id("UPDATE app_user SET is_admin = true WHERE username = 'alice' RETURNING id")
                let bob = try id("SELECT id FROM app_user WHERE username = 'bob'")
                let client = try id("""
                    INSERT INTO oauth_client (tenant_id, name, provider, client_id, authorization_url, token_url, device_authorization_url, scopes)
                    VALUES (\(tenant), 'test', 'generic', 'mailroom-tests', \(base + "/authorize"), \(base + "/token"),
                            \(base + "/devicecode"), '{mail,offline_access}') RETURNING id
                    """)
                try conn.execute("""
                    UPDATE mail_account SET imap_auth = 'oauth2', oauth_client_id = \(client), imap_secret = NULL WHERE id = \(account)
                    """)
                let personal = try id("""
                    INSERT INTO mail_account (tenant_id, kind, owner_user_id, name, address, imap_auth, oauth_client_id)
                    VALUES (\(tenant), 'personal', \(alice), 'alice', 'alice@acme.test', 'oauth2', \(client)) RETURNING id
                    """)
                return [account, alice, bob, personal]
            }
            let port = try LoopbackHTTP.freePort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("oauth-flow-\(UUID().uuidString).log").path
            try fixture.startReplica(logTo: log, extraArguments: ["--oauth-callback-port", "\(port)"],
                                     environment: ["MAILROOM_PUBLIC_URL": "http://127.0.0.1:\(port)",
                                                   "MAILROOM_OAUTH_RETURN_URLS": "\(returnPrefix), https://crm.example.test/mail/"])
            try await fixture.waitUntil(timeout: .seconds(30), "the OAuth callback listening") {
                (try? LoopbackHTTP.get(port: port, path: "/oauth/callback").status) == 400
            }
            return Setup(fixture: fixture, worker: worker, tokens: tokens, tenant: tenant, admin: ids[1], bob: ids[2],
                         account: AccountID(ids[0]), personal: AccountID(ids[3]), box: box, port: port, log: log)
        } catch {
            await fixture.tearDown()
            throw error
        }
    }

    /// `mailroom_oauth_begin` as the CRM's role, acting as `user`.
    static func begin(_ s: Setup, user: Int64?, account: AccountID, returnURL: String) async throws -> String {
        let crm = PostgresPool(.init(conninfo: try TestDatabase.url(as: .crm, databaseURL: s.fixture.url), maxConnections: 1))
        defer { crm.close() }
        let tenant = s.tenant
        return try await crm.transaction(tenant: tenant) { conn in
            if let user { try conn.execute("SELECT set_config('mailroom.user_id', \(String(user)), true)") }
            return try conn.query("SELECT mailroom_oauth_begin(\(account), \(returnURL))").one().decode(String.self, at: 0)
        }
    }

    /// The browser at the provider: its 302 back to the callback, with code and state.
    static func authorize(_ url: String) async throws -> String {
        let answer = try await BrowserStep.get(url)
        #expect(answer.status == 302)
        return try #require(answer.location)
    }

    static func grants(_ s: Setup) async throws -> Int {
        try await s.worker.count(s.tenant, "SELECT count(*) FROM oauth_grant")
    }

    @Test func crmLoginStoresTheGrantAndMailIsImportedWithIt() async throws {
        let s = try await Self.setUp("oauth-flow")
        do {
            _ = try await s.tokens.makeUser(s.box.address)
            let returnURL = Self.returnPrefix + "accounts/\(s.account)?connected=1"
            let url = try await Self.begin(s, user: s.admin, account: s.account, returnURL: returnURL)
            let q = BrowserStep.query(url)
            #expect(url.hasPrefix(s.tokens.baseURL.absoluteString))
            #expect(q["response_type"] == "code" && q["client_id"] == "mailroom-tests" && q["scope"] == "mail offline_access")
            #expect(q["redirect_uri"] == "http://127.0.0.1:\(s.port)/oauth/callback")
            #expect(q["code_challenge_method"] == "S256" && q["code_challenge"]?.count == 43)
            #expect(q["login_hint"] == s.box.address)
            #expect(q["state"]?.count == 43)
            // Nothing secret in the URL: the verifier stays in the database.
            let verifier = try await s.worker.query(s.tenant) { try $0.query("SELECT code_verifier FROM oauth_login_state").one().decode(String.self, at: 0) }
            #expect(!url.contains(verifier))

            let callback = try await Self.authorize(url)
            #expect(callback.hasPrefix("http://127.0.0.1:\(s.port)/oauth/callback?"))
            let done = try await BrowserStep.get(callback)
            #expect(done.status == 303, "\(done.body)")
            #expect(done.location == returnURL)
            let code = try #require(BrowserStep.query(callback)["code"])
            #expect(!done.body.contains(code))
            let (state, outcome) = try await s.worker.query(s.tenant) { conn in
                (try conn.query("SELECT state FROM oauth_grant WHERE account_id = \(s.account)").one().decode(String.self, at: 0),
                 try conn.query("SELECT outcome FROM oauth_login_state").one().decode(String?.self, at: 0))
            }
            #expect(state == "active")
            #expect(outcome == "stored")

            // The same callback again: the state was used.
            let replay = try await BrowserStep.get(callback)
            #expect(replay.status == 400)
            #expect(replay.body.contains("already used"))
            #expect(try await s.worker.count(s.tenant, "SELECT generation FROM oauth_grant") == 0)

            // The grant at work: the worker stops, a delivered message is imported over IMAP with its token.
            #expect(s.fixture.stopAll() == [0])
            // No code, verifier or token in the worker's log.
            let log = (try? String(contentsOfFile: s.log, encoding: .utf8)) ?? ""
            #expect(log.contains("OAuth callback with a used state"), "\(log)")
            for secret in [code, verifier] { #expect(!log.contains(secret)) }
            try s.worker.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-flow-1@x.test", subject: "Connected")])
            let reports = try await s.worker.importAll(s.tenant)
            #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
            #expect(try await s.worker.count(s.tenant, "SELECT count(*) FROM email WHERE message_id = 'oauth-flow-1@x.test'") == 1)
        } catch {
            await s.fixture.tearDown()
            throw error
        }
        await s.fixture.tearDown()
    }

    @Test func refusedLoginsStoreNothing() async throws {
        let s = try await Self.setUp("oauth-refuse")
        do {
            let returnURL = Self.returnPrefix + "done"

            // The provider's error answer (no such user there: access_denied): a page, nothing stored.
            let denied = try await Self.authorize(try await Self.begin(s, user: s.admin, account: s.account, returnURL: returnURL))
            #expect(BrowserStep.query(denied)["error"] == "access_denied")
            let deniedPage = try await BrowserStep.get(denied)
            #expect(deniedPage.status == 400 && deniedPage.body.contains("access_denied"), "\(deniedPage.body)")
            _ = try await s.tokens.makeUser(s.box.address)

            // A forged state, and none at all.
            let forged = try await BrowserStep.get("http://127.0.0.1:\(s.port)/oauth/callback?code=abc&state=\(String(repeating: "A", count: 43))")
            #expect(forged.status == 400 && forged.body.contains("not known"))
            #expect(try await BrowserStep.get("http://127.0.0.1:\(s.port)/oauth/callback?code=abc").status == 400)

            // An expired state.
            let late = try await Self.authorize(try await Self.begin(s, user: s.admin, account: s.account, returnURL: returnURL))
            try await s.worker.query(s.tenant) { conn in
                try conn.execute("""
                    UPDATE oauth_login_state SET created_at = now() - interval '11 minutes', expires_at = now() - interval '1 minute'
                    WHERE used_at IS NULL
                    """)
            }
            let expired = try await BrowserStep.get(late)
            #expect(expired.status == 400 && expired.body.contains("expired"), "\(expired.body)")

            // A wrong PKCE verifier: the token endpoint refuses the code (invalid_grant).
            let tampered = try await Self.authorize(try await Self.begin(s, user: s.admin, account: s.account, returnURL: returnURL))
            try await s.worker.query(s.tenant) { conn in
                try conn.execute("UPDATE oauth_login_state SET code_verifier = \(String(repeating: "x", count: 64)) WHERE used_at IS NULL")
            }
            let pkce = try await BrowserStep.get(tampered)
            #expect(pkce.status == 400 && pkce.body.contains("PKCE verification failed"), "\(pkce.body)")
            #expect(try await Self.grants(s) == 0)
            let outcomes = try await s.worker.query(s.tenant) { conn in
                try conn.query("SELECT coalesce(outcome, '-') FROM oauth_login_state ORDER BY id").map { try $0.decode(String.self, at: 0) }
            }
            #expect(outcomes == ["access_denied", "-", "exchange_failed"])

            // Refused at begin: a return URL outside the allow-list (another host, a look-alike prefix),
            // a plain user for a group account or someone else's personal account, no acting user.
            for bad in ["https://evil.test/crm/", "http://127.0.0.1:9/crmx", "http://127.0.0.1:9/", "javascript:alert(1)"] {
                await Self.expectRefused(s, user: s.admin, account: s.account, returnURL: bad, state: "22023")
            }
            await Self.expectRefused(s, user: s.bob, account: s.account, returnURL: returnURL, state: "42501")
            await Self.expectRefused(s, user: s.bob, account: s.personal, returnURL: returnURL, state: "42501")
            await Self.expectRefused(s, user: nil, account: s.account, returnURL: returnURL, state: "42501")
            // The admin may connect alice's personal account too (she is its owner and an admin).
            _ = try await Self.begin(s, user: s.admin, account: s.personal, returnURL: returnURL)

            // The CRM reads no pending login (verifiers) and forges none; nor the callback settings.
            let crm = PostgresPool(.init(conninfo: try TestDatabase.url(as: .crm, databaseURL: s.fixture.url), maxConnections: 1))
            defer { crm.close() }
            for sql: SQL in ["SELECT code_verifier FROM oauth_login_state",
                             """
                             INSERT INTO oauth_login_state (tenant_id, state_hash, account_id, user_id, client_id, code_verifier,
                                 redirect_uri, return_url, expires_at)
                             SELECT \(s.tenant), sha256('x'), \(s.account), \(s.admin), oauth_client_id, repeat('x', 64), 'http://a/', 'https://evil.test/', now() + interval '1 hour'
                             FROM mail_account WHERE id = \(s.account)
                             """,
                             "UPDATE oauth_callback_setting SET return_url_prefixes = '{https://evil.test/}'",
                             "SELECT * FROM oauth_callback_setting"] {
                do {
                    _ = try await crm.transaction(tenant: s.tenant) { try $0.execute(sql) }
                    Issue.record("the CRM ran: \(sql)")
                } catch let e as PostgresError {
                    #expect(e.sqlState == "42501", "\(e)")
                }
            }
            #expect(try await Self.grants(s) == 0)
            // Refusals are logged, never with the code or the state.
            #expect(s.fixture.stopAll() == [0])
            let log = (try? String(contentsOfFile: s.log, encoding: .utf8)) ?? ""
            #expect(log.contains("OAuth callback with an unknown state"), "\(log)")
            #expect(log.contains("OAuth login not stored"))
            for url in [denied, late, tampered] {
                for (name, value) in BrowserStep.query(url) where name == "code" || name == "state" { #expect(!log.contains(value)) }
            }
        } catch {
            await s.fixture.tearDown()
            throw error
        }
        await s.fixture.tearDown()
    }

    /// The callback's settings are required and strict: the worker refuses to start without them.
    @Test func workerWithTheCallbackNeedsItsSettings() async throws {
        for (env, named) in [(["MAILROOM_PUBLIC_URL": "", "MAILROOM_OAUTH_RETURN_URLS": Self.returnPrefix], "MAILROOM_PUBLIC_URL"),
                             (["MAILROOM_PUBLIC_URL": "http://127.0.0.1:1", "MAILROOM_OAUTH_RETURN_URLS": ""], "MAILROOM_OAUTH_RETURN_URLS"),
                             (["MAILROOM_PUBLIC_URL": "http://127.0.0.1:1", "MAILROOM_OAUTH_RETURN_URLS": "https://crm.example.test"],
                              "MAILROOM_OAUTH_RETURN_URLS")] {
            let run = try await MailroomBinary.run(["worker", "--oauth-callback-port", "0"], env: env)
            #expect(run.status != 0)
            #expect(run.stderr.contains(named), "\(run.stderr)")
        }
    }

    static func expectRefused(_ s: Setup, user: Int64?, account: AccountID, returnURL: String, state: String,
                              sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await begin(s, user: user, account: account, returnURL: returnURL)
            Issue.record("begun for user \(String(describing: user)) with \(returnURL)", sourceLocation: sourceLocation)
        } catch let e as PostgresError {
            #expect(e.sqlState == state, "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }
}
