import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

/// Who gets a new case: eligibility in-process; exactness under concurrency with three worker processes
/// (long-running replicas) importing three folders of one account (one account and team pointer) at once.
extension WorkerProcessTests {
    @Suite(.serialized) struct DistributionTests {
        /// Three long-running replicas on a database of their own: each folder of the account is its own poll
        /// job, so the replicas import the three folders at the same time, one message per transaction.
        /// Returns once `expected` cases exist; the caller checks them through `f` (bound to that database).
        func withThreeReplicas(_ f: WorkerFixture, folders: [String] = ["INBOX", "A", "B"], account: WorkerFixture.Account,
                               expected: Int, before: (WorkerFixture, TenantID) async throws -> Void = { _, _ in },
                               check: (WorkerFixture, TenantID) async throws -> Void) async throws {
            try #require(FileManager.default.isExecutableFile(atPath: MailroomBinary.path), "mailroom binary not built at \(MailroomBinary.path)")
            let replicas = try await ReplicaFixture.make()
            do {
                let g = WorkerFixture(pool: replicas.pool, server: f.server, key: f.key)
                let (tenant, _) = try await g.tenant("dist", accounts: [account])
                try await g.addUser(tenant, "carol")
                try await before(g, tenant)
                for _ in 0..<3 { try replicas.startReplica(slots: 3, perTenantCap: 6, extraArguments: ["--batch-size", "1"]) }
                try await replicas.waitUntil(timeout: .seconds(90), "\(expected) cases") {
                    try await g.count(tenant, "SELECT count(*) FROM support_case WHERE name LIKE 'Thread %'") >= expected
                }
                #expect(replicas.stopAll().allSatisfy { $0 == 0 })
                try await check(g, tenant)
            } catch {
                await replicas.tearDown()
                throw error
            }
            await replicas.tearDown()
        }

        func deliverThreads(_ f: WorkerFixture, _ box: TestMailbox, count: Int, prefix: String) throws {
            let folders = ["INBOX", "A", "B"]
            for (i, folder) in folders.enumerated() {
                let messages = stride(from: i, to: count, by: folders.count).map {
                    TestMessages.plain(id: "\(prefix)-\($0)@customer.test", subject: "Thread \($0)", from: "c\($0)@customer.test")
                }
                try f.server.deliverToMaildir(box, folder: folder, messages: messages)
            }
        }

        @Test func roundRobinOverThreeReplicasIsExactlyCyclicInCaseNumberOrder() async throws {
            let f = try await WorkerFixture.make()
            let box = try f.server.createMailbox(prefix: "rr")
            for folder in ["A", "B"] { try f.server.createFolder(box, folder: folder) }
            try deliverThreads(f, box, count: 30, prefix: "rr")
            try await withThreeReplicas(f, account: f.caseAccount(box, folders: ["INBOX", "A", "B"]), expected: 30) { g, tenant in
                let cases = try await g.cases(tenant)
                #expect(cases.count == 30)
                #expect(cases.map(\.number) == Array(1...30))
                // Ascending user id: alice, bob (provisioned), carol (added).
                let order = ["alice", "bob", "carol"]
                #expect(cases.map(\.assignee) == (0..<30).map { order[$0 % 3] })
            }
        }

        @Test func lessBusyOverThreeReplicasEvensOutOpenCases() async throws {
            let f = try await WorkerFixture.make()
            let box = try f.server.createMailbox(prefix: "lb")
            for folder in ["A", "B"] { try f.server.createFolder(box, folder: folder) }
            try deliverThreads(f, box, count: 10, prefix: "lb")
            let account = f.caseAccount(box, distribution: "less_busy", folders: ["INBOX", "A", "B"])
            try await withThreeReplicas(f, account: account, expected: 10, before: { g, tenant in
                let alice = try await g.userID(tenant, "alice"), bob = try await g.userID(tenant, "bob")
                let carol = try await g.userID(tenant, "carol")
                // Open cases beforehand: alice 3, bob 0, carol 1; bob also has 6 closed ones, which never count.
                try await g.query(tenant) { conn in
                    let source = try conn.query("SELECT id FROM mail_account").one().decode(AccountID.self, at: 0)
                    for (user, status) in [(alice, "Assigned"), (alice, "Assigned"), (alice, "New"), (carol, "Assigned")]
                        + ["Closed", "Rejected", "Duplicate", "Closed", "Closed", "Closed"].map({ (bob, $0) }) {
                        _ = try CaseQueries.caseCreate(conn, tenant: tenant, .init(
                            name: "earlier", description: nil, status: status, teamID: nil, assignedUserID: user,
                            contactID: nil, accountID: nil, leadID: nil, sourceAccountID: source))
                    }
                }
            }) { g, tenant in
                #expect(try await g.count(tenant, "SELECT count(*) FROM support_case WHERE name LIKE 'Thread %'") == 10)
                let open = try await g.query(tenant) { conn in
                    try conn.query("""
                        SELECT u.username, count(c.id) FROM app_user u
                        LEFT JOIN support_case c ON c.tenant_id = u.tenant_id AND c.assigned_user_id = u.id
                             AND c.status NOT IN ('Closed', 'Rejected', 'Duplicate')
                        WHERE u.username IN ('alice', 'bob', 'carol') GROUP BY u.username ORDER BY u.username
                        """).map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
                }
                let counts = open.map(\.1)
                #expect(counts.reduce(0, +) == 14)
                #expect(counts.max()! - counts.min()! <= 1, "open counts \(open)")
            }
        }

        @Test func onlyActiveUsersWithThePositionAndOtherwiseUnassigned() async throws {
            let f = try await WorkerFixture.make()
            let box = try f.server.createMailbox(prefix: "elig")
            try f.server.deliverToMaildir(box, messages: (1...6).map {
                TestMessages.plain(id: "e\($0)@customer.test", subject: "Question \($0)", from: "c\($0)@customer.test")
            })
            let (tenant, _) = try await f.tenant("elig", accounts: [f.caseAccount(box)])
            try await f.addUser(tenant, "nopos", position: nil)
            try await f.addUser(tenant, "gone", active: false)
            try await f.addUser(tenant, "leader", position: "lead")
            _ = try await f.importAll(tenant, runner: f.caseRunner())
            let assignees = try await f.cases(tenant).map(\.assignee)
            #expect(assignees == ["alice", "bob", "alice", "bob", "alice", "bob"])

            // Nobody eligible any more: the next case stays unassigned (status New) and is counted.
            try await f.query(tenant) { try $0.execute("UPDATE app_user SET is_active = false WHERE username IN ('alice', 'bob')") }
            try f.server.deliverToMaildir(box, messages: [TestMessages.plain(id: "e7@customer.test", subject: "Anyone?", from: "c7@customer.test")])
            _ = try await f.importAll(tenant, runner: f.caseRunner())
            let last = try #require(try await f.cases(tenant).last)
            #expect(last.assignee == nil && last.status == "New")
            #expect(try await f.query(tenant) { try CaseQueries.caseCountUnassignedOpen($0, tenant: tenant) } == 1)
        }
    }
}
