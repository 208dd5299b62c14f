import Foundation
import Logging
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
import Synchronization
import Testing
@testable import MailWorker

/// A real 4xx: the test Postfix answers `450 4.2.0` at RCPT TO for every address at `tempfail.test`
/// (scripts/testenv.sh, check_recipient_access). The email is retried by the real `JobRunner` with
/// growing backoff, stays queued between attempts, and fails with the server's text after the last.
///
/// A database of its own: the runner claims every ready job of its database, and the shared one
/// holds other tests' jobs.
@Suite struct SendTemporaryFailureTests {
    /// What the runner did, attempt by attempt, seen from inside the handler.
    final class AttemptLog: Sendable {
        struct Entry: Sendable {
            var attempt: Int
            var startedAt: ContinuousClock.Instant
            var endedAt: ContinuousClock.Instant
            var statusAfter: String
            var error: String?
        }
        let entries = Mutex<[Entry]>([])
    }

    /// Runs the real send handler, then records the attempt and the email's state right after it.
    struct RecordingHandler: JobHandler {
        let inner: SendJobHandler
        let pool: PostgresPool
        let log: AttemptLog

        func handle(_ job: Job) async throws {
            let start = ContinuousClock.now
            var thrown: (any Error)?
            do { try await inner.handle(job) } catch { thrown = error }
            let (status, error): (String, String?) = try await pool.transaction(tenant: job.tenantID) { conn in
                let row = try conn.query("SELECT status, send_error FROM email WHERE tenant_id = \(job.tenantID)").one()
                return (try row.decode(at: 0), try row.decode(at: 1))
            }
            let end = ContinuousClock.now
            log.entries.withLock { $0.append(.init(attempt: job.attempt, startedAt: start, endedAt: end, statusAfter: status, error: error)) }
            if let thrown { throw thrown }
        }
    }

    @Test func a450RetriesWithBackoffStaysQueuedThenFailsWithTheServersText() async throws {
        let server = try TestMailServer.fromEnvironment()
        let key = try SecretKey.fromEnvironment()
        let (_, name, pool) = try await TestDatabase.createMigratedDatabase(applicationName: "tempfail-test")
        defer { pool.close(); Task { try? await TestDatabase.dropDatabase(name) } }
        var logger = Logger(label: "test.tempfail")
        logger.logLevel = .critical

        let support = try server.createMailbox(prefix: "send-4xx")
        defer { try? server.removeMailbox(support) }
        let smtp = "smtp: {host: \(server.host), port: \(server.submissionPort), security: starttls, verify_tls: false, "
            + "password: env:TEST_PW0, shared: true}"
        let tenant = try await TestTenant.provision(slug: TestDatabase.uniqueSlug("send-4xx"),
                                                    accounts: [TestGroupAccount(name: "Support", mailbox: support, extra: [smtp])],
                                                    server: server, secrets: SecretBox(key: key), pool: pool)
        let id = try await pool.transaction(tenant: tenant) { conn -> EmailID in
            let account: AccountID = try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(at: 0)
            try conn.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'")
            let alice: UserID = try conn.query("SELECT id FROM app_user WHERE username = 'alice'").one().decode(at: 0)
            let id = try EmailQueries.emailQueue(conn, tenant: tenant, EmailDraft(account: account, user: alice,
                                                                                  to: ["customer@tempfail.test"], subject: "Later", text: "x"))
            // Three attempts instead of the default eight keep the test short.
            try conn.execute("UPDATE job SET max_attempts = 3 WHERE tenant_id = \(tenant) AND kind = 'send'")
            return id
        }

        var settings = ImportSettings()
        settings.outboundPolicy = server.outboundPolicy
        let importer = ImportRunner(pool: pool, secrets: SecretBox(key: key), settings: settings, logger: logger)
        let log = AttemptLog()
        let handler = RecordingHandler(inner: SendJobHandler(pool: pool, secrets: SecretBox(key: key), importer: importer,
                                                             connections: SMTPConnectionCache(), logger: logger),
                                       pool: pool, log: log)
        var config = JobRunnerConfiguration()
        config.slots = 1
        config.kinds = ["send"]
        config.retryBase = .milliseconds(400)
        config.idleWait = .milliseconds(50)
        let runner = JobRunner(pool: pool, handlers: ["send": handler], config: config, logger: logger)
        let running = Task { await runner.run() }

        var final: (status: String, error: String?, attempts: Int) = ("", nil, 0)
        _ = try await Eventually.until(timeout: .seconds(60), interval: .milliseconds(50)) {
            final = try await pool.transaction(tenant: tenant) { conn in
                let row = try conn.query("SELECT status, send_error, send_attempts FROM email WHERE id = \(id)").one()
                return (try row.decode(at: 0), try row.decode(at: 1), try row.decode(at: 2))
            }
            let jobState: String = try await pool.withConnection {
                try $0.query("SELECT state FROM job WHERE tenant_id = \(tenant) AND kind = 'send'").one().decode(at: 0)
            }
            return final.status == "Failed" && jobState == "done"
        }
        running.cancel()
        await running.value

        // Failed after the last attempt, with the server's own words; a refused recipient is not an
        // account failure, so the account's SMTP health stays clean.
        #expect(final.status == "Failed")
        #expect(final.attempts == 3)
        let error = try #require(final.error)
        #expect(error.contains("450"), "\(error)")
        #expect(error.contains("Mailbox temporarily unavailable"), "\(error)")
        #expect(error.contains("customer@tempfail.test"), "\(error)")
        #expect(!error.contains(support.password))
        let (jobAttempt, jobState): (Int, String) = try await pool.withConnection {
            let row = try $0.query("SELECT attempt, state FROM job WHERE tenant_id = \(tenant) AND kind = 'send'").one()
            return (try row.decode(at: 0), try row.decode(at: 1))
        }
        #expect(jobAttempt == 3)
        // The last attempt records the failure on the email and ends its job: nothing left to retry.
        #expect(jobState == "done")
        let accountError: String? = try await pool.transaction(tenant: tenant) {
            try $0.query("SELECT smtp_last_error FROM mail_account WHERE name = 'Support'").one().decode(at: 0)
        }
        #expect(accountError == nil)

        // Attempts 1 and 2 left the email queued with the reason; the pauses between attempts grow with
        // the backoff (400 ms · 2^(attempt-1), ±20 %): at least 320 ms, then at least 640 ms, more than
        // the first can be. Lower bounds only: a loaded machine may start a due job late, never early.
        let entries = log.entries.withLock { $0 }
        #expect(entries.map(\.attempt) == [1, 2, 3])
        #expect(entries.map(\.statusAfter) == ["Sending", "Sending", "Failed"])
        #expect(entries.allSatisfy { $0.error?.contains("450") == true })
        if entries.count == 3 {
            let pause1 = entries[1].startedAt - entries[0].endedAt, pause2 = entries[2].startedAt - entries[1].endedAt
            #expect(pause1 >= .milliseconds(320), "\(pause1)")
            #expect(pause2 >= .milliseconds(640), "\(pause2)")
        }
    }
}
