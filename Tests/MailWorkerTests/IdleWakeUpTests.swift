import Foundation
import Logging
import MailCore
import MailStore
import MailTesting
import MailTransport
import MailWorker
import Testing

/// IMAP IDLE as a wake-up of the poll jobs, against the real Dovecot and Postgres.
@Suite struct IdleWakeUpTests {
    @Test func deliveryMovesTheInboxPollToNowAndDisablingTheAccountClosesTheWatch() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "idle-wake")
        defer { try? f.server.removeMailbox(box) }
        let (tenant, _) = try await f.tenant("idlewake", accounts: [.init(name: "Support", mailbox: box)])
        // The scheduler's poll jobs, pushed an hour out: only a wake-up brings one back now.
        _ = try await f.query(tenant) { try PollScheduleQueries.pollScheduleReconcile($0, tenant: tenant) }
        let inbox: Int64 = try await f.query(tenant) { conn in
            try conn.execute("UPDATE job SET run_at = now() + interval '1 hour' WHERE kind = 'poll' AND state = 'ready'")
            return try conn.query("SELECT id FROM mail_folder WHERE upper(name) = 'INBOX'").one().decode(Int64.self, at: 0)
        }
        let duePolls = "SELECT count(*)::int FROM job WHERE kind = 'poll' AND unique_key = 'poll:folder:\(inbox)' AND run_at <= now()"
        #expect(try await f.count(tenant, duePolls) == 0)

        var logger = Logger(label: "test.idle")
        logger.logLevel = .warning
        let idle = try IdleWakeUps(pool: f.pool, importer: f.runner(), onlyTenants: [tenant], logger: logger)
        let running = Task { await idle.run() }
        defer { running.cancel() }
        let folder = FolderID(inbox)
        #expect(try await Eventually.until(timeout: .seconds(20)) { idle.idlingFolders.contains(folder) })

        let sender = try await IMAPConnection(endpoint: f.server.endpoint(for: box))
        defer { sender.close() }
        let message = TestMessages.plain(id: "idle-wake@x.test", subject: "wake")
        try await sender.run { _ = try $0.append("INBOX", message: message, flags: []) }
        #expect(try await Eventually.until(timeout: .seconds(5)) { try await f.count(tenant, duePolls) == 1 },
                "the EXISTS moved the INBOX poll to now")

        // An administrator disables the account: the next reconcile (here asked for directly, in
        // the worker on the mailroom_config notification) closes the connection.
        try await f.query(tenant) { try $0.execute("UPDATE mail_account SET is_active = false") }
        idle.requestReconcile()
        #expect(try await Eventually.until(timeout: .seconds(5)) { idle.idlingFolders.isEmpty })

        // Enabled again it is watched again; `idle = false` closes the watch while polling goes on.
        try await f.query(tenant) { try $0.execute("UPDATE mail_account SET is_active = true") }
        idle.requestReconcile()
        #expect(try await Eventually.until(timeout: .seconds(20)) { idle.idlingFolders.contains(folder) })
        try await f.query(tenant) { try $0.execute("UPDATE mail_account SET idle = false") }
        idle.requestReconcile()
        #expect(try await Eventually.until(timeout: .seconds(5)) { idle.idlingFolders.isEmpty })
    }
}
