import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Testing

extension WorkerProcessTests {
    /// Self-scheduling polls across replicas: live configuration, advisory locks, fairness.
    @Suite(.serialized) struct ScheduleTests {
        func mailroom(_ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MailroomBinary.path)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }

        @Test func pollsOfOneMailboxNeverOverlapAcrossReplicasAndManualPolls() async throws {
            let r = try await ReplicaFixture.make()
            let f = WorkerFixture(pool: r.pool, server: try TestMailServer.fromEnvironment(), key: try SecretKey.fromEnvironment())
            let box = try f.server.createMailbox(prefix: "overlap")
            let (tenant, slug) = try await f.tenant("overlap", accounts: [.init(name: "Support", mailbox: box, extra: ["poll_interval: 10s"])])
            for _ in 0..<3 { try r.startReplica(slots: 3) }
            var delivered = 0
            let start = ContinuousClock.now
            // At least 6 s of colliding polls, and until enough polls ran (a loaded machine runs fewer).
            while ContinuousClock.now - start < .seconds(30) {
                if ContinuousClock.now - start > .seconds(6),
                   try await f.count(tenant, "SELECT count(*) FROM mail_poll_log") >= 6 { break }
                delivered += 1
                try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "overlap-\(delivered)@x.test", subject: "n\(delivered)")])
                for _ in 0..<3 { _ = try mailroom(["poll", "--database-url", r.url, "--tenant", slug, "Support"]) }
            }
            let total = delivered
            try await r.waitUntil(timeout: .seconds(30), "every delivered message imported") {
                try await f.count(tenant, "SELECT count(*) FROM email") == total
            }
            let statuses = r.stopAll()
            let polls = try await f.count(tenant, "SELECT count(*) FROM mail_poll_log")
            let overlaps = try await f.count(tenant, """
                SELECT count(*) FROM mail_poll_log a JOIN mail_poll_log b
                  ON a.folder_id = b.folder_id AND a.id < b.id AND a.started_at < b.finished_at AND b.started_at < a.finished_at
                """)
            await r.tearDown()
            #expect(statuses.allSatisfy { $0 == 0 })
            #expect(polls >= 5, "manual polls ran (\(polls))")
            #expect(overlaps == 0)
        }

        /// A configuration change reaches the replicas through LISTEN/NOTIFY: an account inserted with plain
        /// SQL is polled without waiting for a reconcile interval, and a disabled one loses its schedule.
        /// Conditions, not clocks: the test waits for each state with a generous bound and reports how long
        /// the first import took (the figure, not a pass/fail line: a loaded machine starts work late).
        @Test func anAccountInsertedWithPlainSQLIsPolledAndADisabledOneIsNot() async throws {
            let r = try await ReplicaFixture.make()
            let server = try TestMailServer.fromEnvironment()
            let key = try SecretKey.fromEnvironment()
            let box = try server.createMailbox(prefix: "livecfg")
            try server.deliverToMaildir(box, messages: [TestMessages.plain(id: "live-1@x.test", subject: "first")])
            let tenant = try await r.makeTenant("livecfg")
            for _ in 0..<2 { try r.startReplica(slots: 2) }
            // Replicas up: both listening for configuration changes.
            try await r.waitUntil(timeout: .seconds(60), "both replicas listening") {
                try await r.count("""
                    SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mailroom-listener'
                    """) >= 2
            }

            let inserted = ContinuousClock.now
            let account = try await r.pool.transaction(tenant: tenant) { conn in
                let id = try conn.query("""
                    INSERT INTO mail_account (tenant_id, kind, name, address, imap_host, imap_port, imap_security, imap_verify_tls,
                                              imap_username, poll_interval)
                    VALUES (\(tenant), 'group', 'Inserted', \(box.address), \(server.host), \(server.imapPort), 'starttls', false,
                            \(box.address), interval '10 seconds') RETURNING id
                    """).one().decode(AccountID.self, at: 0)
                let sealed = try SecretBox(key: key).seal(box.secret, context: MailAccountRecord.secretContext(tenant: tenant, account: id, field: "imap_secret"))
                try conn.execute("UPDATE mail_account SET imap_secret = \(sealed) WHERE id = \(id)")
                try conn.execute("INSERT INTO mail_folder (tenant_id, account_id, name) VALUES (\(tenant), \(id), 'INBOX')")
                return id
            }
            let count = { (sql: String) in try await r.pool.transaction(tenant: tenant) { try $0.query(SQL(unsafeSQL: sql)).one().decode(Int.self, at: 0) } }
            try await r.waitUntil(timeout: .seconds(60), "the new account's first import") {
                try await count("SELECT count(*) FROM email") == 1
            }
            print("schedule test: an account inserted with plain SQL was first imported after \(ContinuousClock.now - inserted)")

            try await r.pool.transaction(tenant: tenant) { conn in
                try conn.execute("UPDATE mail_account SET is_active = false WHERE id = \(account)")
            }
            // Its schedule goes: no poll job is left to fire, whatever the interval (the worker only ever
            // polls through a poll job, so this is the whole of "a disabled account is not polled").
            try await r.waitUntil(timeout: .seconds(60), "the disabled account's schedule removed") {
                try await r.count("SELECT count(*) FROM job WHERE kind = 'poll' AND state IN ('ready', 'running')") == 0
            }
            let emails = try await count("SELECT count(*) FROM email")
            let jobs = try await r.count("SELECT count(*) FROM job WHERE kind = 'poll' AND state IN ('ready', 'running')")
            _ = r.stopAll()
            await r.tearDown()
            #expect(emails == 1)
            #expect(jobs == 0, "its schedule was removed: nothing is left to poll it")
        }

        @Test func aSmallTenantIsServedBeforeABigTenantsBacklogIsHalfDone() async throws {
            let r = try await ReplicaFixture.make()
            let trace = FileManager.default.temporaryDirectory.appendingPathComponent("fair-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: trace) }
            let big = try await r.makeTenant("big")
            let small = try await r.makeTenant("small")
            let bigIDs = Set(try await r.enqueueTraceJobs(big, count: 2000, file: trace))
            let smallIDs = Set(try await r.enqueueTraceJobs(small, count: 2, file: trace))
            try r.startReplica(slots: 4, perTenantCap: 4)
            try await r.waitUntil(timeout: .seconds(60), "all jobs done") {
                try await r.count("SELECT count(*) FROM job WHERE state = 'done'") == 2002
            }
            _ = r.stopAll()
            await r.tearDown()
            let order = ReplicaFixture.traceLines(trace).map(\.id)
            let positions = order.enumerated().filter { smallIDs.contains($0.element) }.map { $0.offset + 1 }
            let bigBefore = order.prefix(positions.max() ?? 0).filter { bigIDs.contains($0) }.count
            print("fairness: the small tenant's 2 jobs ran at positions \(positions) of 2002 (after \(bigBefore) of the big tenant's 2000)")
            #expect(positions.count == 2)
            #expect(bigBefore < 1000, "served before the big backlog was half done")
        }
    }
}
