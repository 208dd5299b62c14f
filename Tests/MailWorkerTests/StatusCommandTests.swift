import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// `mailroom status` against the shared database, always with `--tenant` so other tests' tenants
/// never change what is checked.
@Suite struct StatusCommandTests {
    func status(_ args: [String]) async throws -> MailroomBinary.Run {
        try await MailroomBinary.run(["status"] + args)
    }

    @Test func jsonShowsEachFolderAfterAnImportAndTheQueueOfItsTenant() async throws {
        let f = try await WorkerFixture.make()
        let box = try f.server.createMailbox(prefix: "status")
        try f.server.deliverToMaildir(box, messages: (1...3).map {
            TestMessages.plain(id: "status-\($0)@initech.test", subject: "Status #\($0)")
        })
        let idle = try f.server.createMailbox(prefix: "status-idle")
        let (tenant, slug) = try await f.tenant("status", accounts: [.init(name: "Support", mailbox: box),
                                                                      .init(name: "Sales", mailbox: idle)])
        let reports = try await f.importAll(tenant)
        #expect(reports.reduce(0) { $0 + $1.imported } == 3)

        // Schedule the polls, make Support's 90 s overdue, and give Sales an account-level error.
        let accounts = try await f.query(tenant) { conn in
            _ = try PollScheduleQueries.pollScheduleReconcile(conn, tenant: tenant)
            let support = try #require(try MailAccountQueries.mailAccountFind(conn, tenant: tenant, nameOrAddress: "Support"))
            let sales = try #require(try MailAccountQueries.mailAccountFind(conn, tenant: tenant, nameOrAddress: "Sales"))
            try conn.execute("""
                UPDATE job SET run_at = now() - interval '90 seconds'
                WHERE tenant_id = \(tenant) AND kind = 'poll' AND payload->>'account' = \(support.rawValue)::text
                """)
            try conn.execute("""
                UPDATE job SET run_at = now() + interval '10 minutes'
                WHERE tenant_id = \(tenant) AND kind = 'poll' AND payload->>'account' = \(sales.rawValue)::text
                """)
            try MailAccountQueries.mailAccountSetError(conn, tenant: tenant, id: sales, error: "login failed: authentication rejected")
            return (support, sales)
        }

        let run = try await status(["--tenant", slug, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(doc["generated_at"] is String)
        let tenants = try #require(doc["tenants"] as? [[String: Any]])
        #expect(tenants.count == 1)
        let t = try #require(tenants.first)
        #expect(t["tenant"] as? String == slug)
        let queue = try #require(t["queue"] as? [String: Any])
        #expect(queue["due"] as? Int == 1)
        #expect(queue["scheduled"] as? Int == 1)
        #expect(queue["running"] as? Int == 0)
        #expect(queue["failed"] as? Int == 0)
        #expect(try #require(queue["poll_lag_seconds"] as? Double) >= 90)
        #expect(t["backlog"] as? Int == 0)

        let folders = try #require(t["folders"] as? [[String: Any]])
        #expect(folders.map { $0["account"] as? String } == ["Sales", "Support"])
        let support = try #require(folders.first { $0["account"] as? String == "Support" })
        #expect(support["account_id"] as? Int == Int(accounts.0.rawValue))
        #expect(support["folder"] as? String == "INBOX")
        #expect(support["active"] as? Bool == true)
        #expect(support["messages_imported"] as? Int == 3)
        #expect(support["last_uid"] as? Int == 3)
        #expect(support["uidnext"] as? Int == 4)
        #expect(support["backlog"] as? Int == 0)
        #expect(support["failures_retrying"] as? Int == 0)
        #expect(support["failures_failed"] as? Int == 0)
        #expect(support["poll_state"] as? String == "ready")
        #expect(try #require(support["lag_seconds"] as? Double) >= 90)
        #expect(support["last_poll_at"] is String)
        #expect(support["next_run_at"] is String)
        #expect(support["last_error"] is NSNull)

        let sales = try #require(folders.first { $0["account"] as? String == "Sales" })
        #expect(sales["messages_imported"] as? Int == 0)
        #expect(sales["backlog"] as? Int == 0)
        #expect(sales["lag_seconds"] as? Double == 0)
        // The folder has no error of its own: the account's shows through.
        #expect(sales["last_error"] as? String == "login failed: authentication rejected")
        // Every documented key is present, null or not.
        let keys: Set<String> = ["account", "account_id", "folder", "folder_id", "active", "last_poll_at", "last_success_at",
                                 "next_run_at", "poll_state", "lag_seconds", "uidnext", "last_uid", "backlog",
                                 "messages_imported", "failures_retrying", "failures_failed", "consecutive_failures",
                                 "last_error", "last_error_at", "messages_skipped", "kind", "owner"]
        #expect(folders.allSatisfy { Set($0.keys) == keys })

        let table = try await status(["--tenant", slug])
        #expect(table.status == 0)
        let supportLine = try #require(table.stdout.split(separator: "\n").first { $0.contains("Support") })
        #expect(supportLine.contains("INBOX"))
        #expect(supportLine.contains("due"))
        #expect(table.stdout.contains("login failed: authentication rejected"))
    }

    @Test func anUnknownTenantIsAnError() async throws {
        _ = try await TestDatabase.pool()  // the shared database is migrated on first use
        let run = try await status(["--tenant", "no-such-tenant-\(UUID().uuidString.prefix(8).lowercased())"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("no tenant"))
    }
}
