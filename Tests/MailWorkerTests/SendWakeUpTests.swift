import Foundation
import Logging
import MailCore
import MailCrypto
@testable import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Idle workers wake for queued sends although the wake-up is debounced (functions/30_jobs.sql,
/// `mailroom_enqueue_jobs`: no NOTIFY while a send of the tenant is already due). A real `JobRunner`
/// with the real send handler, woken by the real `NotificationListener`, submitting to the test
/// Postfix. A database of its own: the runner claims every ready job of its database.
@Suite struct SendWakeUpTests {
    /// A tenant with one group account that sends to its own mailbox, and a runner for `send` jobs
    /// woken by notifications, whose idle re-probe comes every `idleWait`.
    struct Setup: Sendable {
        let url: String
        let name: String
        let pool: PostgresPool
        let tenant: TenantID
        let account: AccountID
        let alice: UserID
        let mailbox: TestMailbox
        let server: TestMailServer
        let running: Task<Void, Never>
        let listening: Task<Void, Never>

        static func make(_ prefix: String, idleWait: Duration) async throws -> Setup {
            let server = try TestMailServer.fromEnvironment()
            let key = try SecretKey.fromEnvironment()
            let (url, name, pool) = try await TestDatabase.createMigratedDatabase(applicationName: "\(prefix)-test")
            var logger = Logger(label: "test.\(prefix)")
            logger.logLevel = .critical
            let mailbox = try server.createMailbox(prefix: prefix)
            let smtp = "smtp: {host: \(server.host), port: \(server.submissionPort), security: starttls, verify_tls: false, "
                + "password: env:TEST_PW0, shared: true}"
            let tenant = try await TestTenant.provision(slug: TestDatabase.uniqueSlug(prefix),
                                                        accounts: [TestGroupAccount(name: "Support", mailbox: mailbox, extra: [smtp])],
                                                        server: server, secrets: SecretBox(key: key), pool: pool)
            let (account, alice) = try await pool.transaction(tenant: tenant) { conn -> (AccountID, UserID) in
                try conn.execute("UPDATE app_user SET is_admin = true WHERE username = 'alice'")
                return (try conn.query("SELECT id FROM mail_account WHERE name = 'Support'").one().decode(at: 0),
                        try conn.query("SELECT id FROM app_user WHERE username = 'alice'").one().decode(at: 0))
            }
            var settings = ImportSettings()
            settings.outboundPolicy = server.outboundPolicy
            let importer = ImportRunner(pool: pool, secrets: SecretBox(key: key), settings: settings, logger: logger)
            let handler = SendJobHandler(pool: pool, secrets: SecretBox(key: key), importer: importer,
                                         connections: SMTPConnectionCache(), logger: logger)
            var config = JobRunnerConfiguration()
            config.kinds = ["send"]
            config.idleWait = idleWait
            let runner = JobRunner(pool: pool, handlers: ["send": handler], config: config, logger: logger)
            let listener = NotificationListener(conninfo: url, logger: logger) { _ in runner.nudge() }
            let listening = Task { await listener.run() }
            // The listener LISTENs on its channels in order, the config channel last: once that was its
            // last statement, a notification cannot be missed.
            let listens = try await Eventually.until(timeout: .seconds(30)) {
                try await pool.withConnection { conn in
                    try conn.query("""
                        SELECT count(*)::int FROM pg_stat_activity
                        WHERE datname = current_database() AND application_name = 'mailroom-listener'
                          AND query = \("LISTEN \"\(NotificationListener.configChannel)\"")
                        """).one().decode(Int.self, at: 0) == 1
                }
            }
            #expect(listens)
            let running = Task { await runner.run() }
            return Setup(url: url, name: name, pool: pool, tenant: tenant, account: account, alice: alice, mailbox: mailbox,
                         server: server, running: running, listening: listening)
        }

        func draft(_ subject: String) -> EmailDraft {
            EmailDraft(account: account, user: alice, to: [mailbox.address], subject: subject, text: "x")
        }

        func queue(_ subject: String) async throws -> EmailID {
            let draft = draft(subject)
            return try await pool.transaction(tenant: tenant) { [tenant] in try EmailQueries.emailQueue($0, tenant: tenant, draft) }
        }

        /// Waits until every one of `ids` is Sent and its job done: true, or false after `timeout`.
        func sent(_ ids: [EmailID], timeout: Duration = .seconds(60)) async throws -> Bool {
            let list = PostgresArray(ids.map(\.rawValue))
            return try await Eventually.until(timeout: timeout, interval: .milliseconds(20)) { [pool, tenant] in
                try await pool.transaction(tenant: tenant) { conn in
                    try conn.query("""
                        SELECT count(*) FILTER (WHERE e.status = 'Sent' AND j.state = 'done')::int = \(ids.count)
                        FROM email e JOIN job j ON j.tenant_id = e.tenant_id AND j.unique_key = 'send:email:' || e.id
                        WHERE e.id = ANY(\(list)::bigint[])
                        """).one().decode(Bool.self, at: 0)
                }
            }
        }

        func tearDown() async {
            running.cancel()
            await running.value
            listening.cancel()
            await listening.value
            pool.close()
            try? server.removeMailbox(mailbox)
            try? await TestDatabase.dropDatabase(name)
        }
    }

    /// The runner's idle re-probe is an hour away: only a notification can wake it. Each email is
    /// queued once the previous one's job is done, so no send is waiting and each must notify.
    @Test func aSendQueuedWhileTheWorkersIdleWakesThem() async throws {
        let s = try await Setup.make("wake-idle", idleWait: .seconds(3600))
        for i in 1...3 {
            let id = try await s.queue("Idle \(i)")
            #expect(try await s.sent([id]), "email \(i) was not sent")
        }
        await s.tearDown()
    }

    /// Four transactions queue at once, each before any of the others commits: none sees another's
    /// job, so the debounce holds none of them back, and the idle runner (re-probe an hour away) is woken.
    @Test func concurrentQueueingStillWakesTheWorkers() async throws {
        let s = try await Setup.make("wake-concurrent", idleWait: .seconds(3600))
        // The tenant's first send creates its row in the queue's tenant turns, which concurrent first
        // enqueues would wait on: sent first.
        #expect(try await s.sent([try await s.queue("First")]))
        var connections: [PostgresConnection] = []
        var ids: [EmailID] = []
        for i in 1...4 {
            let conn = try await PostgresConnection.connect(conninfo: s.url, applicationName: "wake-concurrent-\(i)")
            let draft = s.draft("Concurrent \(i)")
            ids.append(try await conn.run { [tenant = s.tenant] conn in
                try conn.executeScript("BEGIN; SELECT set_config('mailroom.tenant_id', '\(tenant.rawValue)', true)")
                return try EmailQueries.emailQueue(conn, tenant: tenant, draft)
            })
            connections.append(conn)
        }
        for conn in connections { try await conn.run { try $0.executeScript("COMMIT") } }
        #expect(try await s.sent(ids))
        await s.tearDown()
    }

    /// Queueing from four connections while the runner sends: most enqueues find a send waiting and
    /// do not notify, and one that commits just after the runner went idle has no notification at
    /// all; the idle re-probe (here the default, 1 s) bounds how long such a job waits. Every email is
    /// sent.
    @Test func aBacklogQueuedFromFourConnectionsIsAllSent() async throws {
        let s = try await Setup.make("wake-backlog", idleWait: JobRunnerConfiguration().idleWait)
        let ids = try await withThrowingTaskGroup(of: [EmailID].self) { group in
            for c in 1...4 {
                group.addTask {
                    var mine: [EmailID] = []
                    for i in 1...10 { mine.append(try await s.queue("Backlog \(c).\(i)")) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(ids.count == 40)
        #expect(try await s.sent(ids, timeout: .seconds(120)))
        await s.tearDown()
    }
}
