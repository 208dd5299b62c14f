import Foundation
import Logging
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// OAuth mailboxes through the worker's real paths: polls of the test Dovecot and sends through Postfix
/// with bearer tokens from the test token server, a token the server stops accepting replaced once,
/// a withdrawn consent ending in `reauth_required`.
@Suite(.serialized) struct OAuthMailboxTests {
    /// A tenant whose group account logs in to IMAP and SMTP with OAuth (a grant for the mailbox user).
    static func setUp(_ prefix: String) async throws -> Setup {
        let f = try await WorkerFixture.make()
        let tokens = try TestTokenServer.fromEnvironment()
        let box = try f.server.createMailbox(prefix: prefix)
        let (tenant, slug) = try await f.tenant(prefix, accounts: [.init(name: "Support", mailbox: box)])
        let grant = try await tokens.makeUser(box.address, ttl: 60)
        let keyring = try SecretKeyring(current: f.key)
        let account = try await f.query(tenant) { conn -> AccountID in
            let account: AccountID = try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(at: 0)
            let client = try TestOAuth.registerClient(conn, tenant: tenant, tokens: tokens)
            try conn.execute("""
                UPDATE mail_account SET imap_auth = 'oauth2', smtp_auth = 'oauth2', oauth_client_id = \(client),
                    imap_secret = NULL, smtp_secret = NULL, smtp_host = \(f.server.host), smtp_port = \(f.server.submissionPort),
                    smtp_security = 'starttls', smtp_verify_tls = false, smtp_shared = true
                WHERE id = \(account)
                """)
            try TestOAuth.storeLogin(conn, tenant: tenant, account: account, grant: grant, keyring: keyring)
            return account
        }
        return Setup(f: f, tokens: tokens, tenant: tenant, slug: slug, account: account, box: box)
    }

    @Test func pollsWithATokenAndReplacesOneTheServerStoppedAccepting() async throws {
        let s = try await Self.setUp("oauth-poll")
        try s.f.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-poll-1@x.test", subject: "One")])
        let runner = s.f.runner()
        #expect(try await s.f.importAll(s.tenant, runner: runner).reduce(0) { $0 + $1.imported } == 1)
        #expect(try await s.tokens.stats().refreshes[s.box.address] == nil)

        // The server no longer accepts the token the grant still believes valid: one refresh, one retry.
        try await s.tokens.expireAccessTokens(s.box.address)
        try s.f.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-poll-2@x.test", subject: "Two")])
        let reports = try await s.f.importAll(s.tenant, runner: runner)
        #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error))")
        #expect(reports.reduce(0) { $0 + $1.imported } == 1)
        #expect(try await s.tokens.stats().refreshes[s.box.address] == 1)
        #expect(try await s.f.count(s.tenant, "SELECT count(*) FROM mail_account WHERE last_error IS NOT NULL") == 0)
    }

    @Test func withdrawnConsentEndsInReauthRequiredAndSendsWait() async throws {
        let s = try await Self.setUp("oauth-revoke")
        try await s.tokens.revoke(s.box.address)
        try s.f.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-revoke-1@x.test", subject: "One")])
        let reports = try await s.f.importAll(s.tenant, runner: s.f.runner())
        #expect(reports.reduce(0) { $0 + $1.imported } == 0)
        let (state, accountError) = try await s.f.query(s.tenant) { conn in
            (try conn.query("SELECT state FROM oauth_grant").one().decode(String.self, at: 0),
             try conn.query("SELECT last_error FROM mail_account").one().decode(String?.self, at: 0))
        }
        #expect(state == "reauth_required")
        #expect(accountError?.contains("OAuth login needed again") == true, "\(String(describing: accountError))")
        #expect(accountError?.contains("invalid_grant") == true)
        // `mailroom status --json` names the account and the provider's reason.
        let status = try await MailroomBinary.run(["status", "--json", "--tenant", s.slug])
        #expect(status.status == 0, "\(status.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let tenants = doc?["tenants"] as? [[String: Any]] ?? []
        let listed = tenants.first?["oauth_reauth_required"] as? [[String: Any]] ?? []
        #expect(listed.count == 1 && listed.first?["account"] as? String == "Support")
        #expect((listed.first?["reason"] as? String)?.contains("invalid_grant") == true)
        // And the worker's gauge counts it.
        let metrics = WorkerMetrics()
        var logger = Logger(label: "test.maintenance")
        logger.logLevel = .critical
        let maintenance = Maintenance(pool: s.f.pool, conninfo: try TestDatabase.url(), metrics: metrics, logger: logger, onNewWork: {})
        await maintenance.publishSecretExpiry()
        #expect(metrics.render().contains("mailroom_oauth_reauth_required{tenant=\"\(s.slug)\"} 1.0"))
    }

    @Test func sendsThroughPostfixWithAToken() async throws {
        let s = try await Self.setUp("oauth-send")
        let recipient = try s.f.server.createMailbox(prefix: "oauth-send-rcpt")
        let email: Int64 = try await s.f.query(s.tenant) { conn in
            let alice: Int64 = try conn.query("SELECT id FROM app_user WHERE username = 'alice'").one().decode(at: 0)
            try conn.execute("UPDATE app_user SET is_admin = true WHERE id = \(alice)")
            return try conn.query("""
                SELECT mailroom_queue_email(\(s.account), \(alice), ARRAY[\(recipient.address)], p_subject => 'With a token', p_text => 'hi')
                """).one().decode(at: 0)
        }
        let handler = SendJobHandler(pool: s.f.pool, secrets: SecretBox(key: s.f.key), importer: s.f.runner(),
                                     connections: SMTPConnectionCache(), logger: .init(label: "test.send"))
        let (jobID, payload) = try await s.f.query(s.tenant) { conn in
            let row = try conn.query("SELECT id, payload::text FROM job WHERE unique_key = \("send:email:\(email)")").one()
            return (try row.decode(Int64.self, at: 0), try row.decode(String.self, at: 1))
        }
        try await handler.handle(Job(id: jobID, tenantID: s.tenant, kind: "send", payload: payload, attempt: 1, maxAttempts: 8,
                                     leaseEpoch: 1, isPeriodic: false))
        let status = try await s.f.query(s.tenant) { try $0.query("SELECT status FROM email WHERE id = \(email)").one().decode(String.self, at: 0) }
        #expect(status == "Sent")
    }

    /// `mailroom oauth import`: a refresh token from another system becomes the login, checked at once;
    /// a revoked one is refused with the provider's reason, and the token never shows.
    @Test func importingARefreshTokenRestoresALoginThroughTheBinary() async throws {
        let s = try await Self.setUp("oauth-import")
        try await s.tokens.revoke(s.box.address)
        _ = try await s.f.importAll(s.tenant, runner: s.f.runner())
        #expect(try await s.f.query(s.tenant) { try $0.query("SELECT state FROM oauth_grant").one().decode(String.self, at: 0) } == "reauth_required")

        let args = ["oauth", "import", "--tenant", s.slug, "--account", "Support", "--refresh-token", "env:MOVED_TOKEN"]
        let refused = try await MailroomBinary.run(args, env: ["MOVED_TOKEN": "rt-not-a-real-token"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("refused the refresh token"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("rt-not-a-real-token") && !refused.stdout.contains("rt-not-a-real-token"))

        let fresh = try await s.tokens.makeUser(s.box.address, ttl: 60)
        let stored = try await MailroomBinary.run(args, env: ["MOVED_TOKEN": fresh.refreshToken.value])
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(stored.stdout.contains("OAuth login stored"))
        #expect(!stored.stdout.contains(fresh.refreshToken.value) && !stored.stderr.contains(fresh.refreshToken.value))
        try s.f.server.deliverToMaildir(s.box, messages: [TestMessages.plain(id: "oauth-import-1@x.test", subject: "Back")])
        #expect(try await s.f.importAll(s.tenant, runner: s.f.runner()).reduce(0) { $0 + $1.imported } == 1)
        #expect(try await s.f.query(s.tenant) { try $0.query("SELECT state FROM oauth_grant").one().decode(String.self, at: 0) } == "active")
    }

    /// Mail queued on an account whose grant needs a new login waits, visibly: still `Sending`, the
    /// reason and the deadline in `send_error`, the job postponed without spending attempts (even on
    /// what would be its last). Once the tenant's `oauth_send_wait` is over (the handler's clock moved,
    /// no sleeping) it fails with the provider's reason.
    @Test func queuedMailWaitsTheTenantsTimeForANewLoginThenFails() async throws {
        let s = try await Self.setUp("oauth-wait")
        let w = try await Self.waitingEmail(s, to: "c@test.local")
        try await s.f.query(s.tenant) { try $0.execute("UPDATE tenant SET oauth_send_wait = interval '1 hour' WHERE id = \(s.tenant)") }

        let first = await w.attempt(1, at: Date())
        let postponed = try #require(first as? JobPostponed, "\(String(describing: first))")
        #expect(postponed.until > Date() && postponed.until <= Date().addingTimeInterval(3600))
        var (status, why) = try await w.state()
        #expect(status == "Sending")
        #expect(why?.contains("OAuth login needed again") == true, "\(String(describing: why))")
        #expect(why?.contains("waiting for a new login until") == true, "\(String(describing: why))")
        // Attempts are not what ends the wait: the last one postpones again.
        #expect(await w.attempt(3, at: Date().addingTimeInterval(1800)) is JobPostponed)
        (status, _) = try await w.state()
        #expect(status == "Sending")

        #expect(await w.attempt(3, at: Date().addingTimeInterval(3 * 3600)) == nil, "the wait is over: failed, not retried")
        (status, why) = try await w.state()
        #expect(status == "Failed")
        #expect(why?.contains("invalid_grant") == true, "\(String(describing: why))")
        #expect(why?.contains("waiting") == false)
    }

    /// The runner's side of the wait: a postponed job is ready again at the handler's time with its
    /// attempt given back. A new login pulls the waiting mail forward at once (functions/40_oauth.sql)
    /// and it goes out through Postfix with the new token.
    @Test func aNewLoginSendsTheWaitingMailAtOnce() async throws {
        let s = try await Self.setUp("oauth-resume")
        let recipient = try s.f.server.createMailbox(prefix: "oauth-resume-rcpt")
        let w = try await Self.waitingEmail(s, to: recipient.address)
        let postponed = try #require(await w.attempt(1, at: Date()) as? JobPostponed)
        let completed = try await s.f.pool.withConnection { conn -> Int in
            try conn.execute("UPDATE job SET state = 'running', attempt = 1, lease_epoch = 7, lease_owner = 'test', lease_until = now() + interval '1 minute' WHERE id = \(w.job)")
            return try JobQueries.jobCompleteMany(conn, [JobOutcome(id: w.job, leaseEpoch: 7, result: .postponed, retryAt: postponed.until,
                                                                   error: postponed.description)])
        }
        #expect(completed == 1)
        let (state, attempt, later) = try await s.f.pool.withConnection { conn in
            let row = try conn.query("SELECT state, attempt, run_at > now() + interval '10 minutes' FROM job WHERE id = \(w.job)").one()
            return (try row.decode(String.self, at: 0), try row.decode(Int.self, at: 1), try row.decode(Bool.self, at: 2))
        }
        #expect(state == "ready" && attempt == 0 && later)

        let fresh = try await s.tokens.makeUser(s.box.address, ttl: 60)
        let keyring = try SecretKeyring(current: s.f.key)
        try await s.f.query(s.tenant) { conn in
            try TestOAuth.storeLogin(conn, tenant: s.tenant, account: s.account, grant: fresh, keyring: keyring)
        }
        let due = try await s.f.pool.withConnection { try $0.query("SELECT run_at <= now() FROM job WHERE id = \(w.job)").one().decode(Bool.self, at: 0) }
        #expect(due, "the new login pulled the waiting send forward")
        #expect(await w.attempt(1, at: Date()) == nil)
        let (status, why) = try await w.state()
        #expect(status == "Sent")
        #expect(why == nil)
    }

    /// An email queued on the account of `s` after its grant was revoked, and a way to run its send job.
    struct WaitingEmail {
        let s: Setup
        let email: Int64
        let job: Int64
        let payload: String

        func attempt(_ n: Int, at now: Date) async -> Error? {
            let handler = SendJobHandler(pool: s.f.pool, secrets: SecretBox(key: s.f.key), importer: s.f.runner(),
                                         connections: SMTPConnectionCache(), logger: .init(label: "test.send"), now: { now })
            do {
                try await handler.handle(Job(id: job, tenantID: s.tenant, kind: "send", payload: payload, attempt: n, maxAttempts: 3,
                                             leaseEpoch: 1, isPeriodic: false))
                return nil
            } catch { return error }
        }

        func state() async throws -> (String, String?) {
            try await s.f.query(s.tenant) { conn in
                let row = try conn.query("SELECT status, send_error FROM email WHERE id = \(email)").one()
                return (try row.decode(at: 0), try row.decode(at: 1))
            }
        }
    }

    static func waitingEmail(_ s: Setup, to recipient: String) async throws -> WaitingEmail {
        try await s.tokens.revoke(s.box.address)
        _ = try await s.f.importAll(s.tenant, runner: s.f.runner())
        let email: Int64 = try await s.f.query(s.tenant) { conn in
            let alice: Int64 = try conn.query("SELECT id FROM app_user WHERE username = 'alice'").one().decode(at: 0)
            try conn.execute("UPDATE app_user SET is_admin = true WHERE id = \(alice)")
            return try conn.query("""
                SELECT mailroom_queue_email(\(s.account), \(alice), ARRAY[\(recipient)], p_subject => 'Waiting', p_text => 'hi')
                """).one().decode(at: 0)
        }
        let (job, payload) = try await s.f.query(s.tenant) { conn in
            let row = try conn.query("SELECT id, payload::text FROM job WHERE unique_key = \("send:email:\(email)")").one()
            return (try row.decode(Int64.self, at: 0), try row.decode(String.self, at: 1))
        }
        return WaitingEmail(s: s, email: email, job: job, payload: payload)
    }
}
