import Foundation
import MailCore
import MailStore
import MailTesting
import Testing
@testable import MailWorker

extension WorkerProcessTests {
    /// One owner across group mailboxes with two `mailroom worker` processes on a database of their
    /// own: each mailbox is its own poll job, so the replicas import the two mailboxes at the same
    /// time, one message per transaction (`--batch-size 1`), racing for every message.
    @Suite struct CaseOwnerReplicaTests {
        @Test(arguments: [true, false])
        func twoReplicasPollingAtOnceMakeOneCaseInTheOwner(_ salesCreatesCases: Bool) async throws {
            try #require(FileManager.default.isExecutableFile(atPath: MailroomBinary.path), "mailroom binary not built at \(MailroomBinary.path)")
            let f = try await WorkerFixture.make()
            let replicas = try await ReplicaFixture.make()
            do {
                let sc = try await CaseOwnerScenario(on: WorkerFixture(pool: replicas.pool, server: f.server, key: f.key))
                let (tenant, _, _) = try await sc.tenant(
                    "owner-replicas", salesCase: salesCreatesCases ? "{create: true, distribution: direct, assign_to: bob}" : nil)
                var ids: [String] = []
                for n in 0..<6 {
                    ids.append(try await sc.deliver(["To: \(sc.support.address)", "Cc: \(sc.sales.address)", "Subject: Race \(n)"]))
                }
                for _ in 0..<2 { try replicas.startReplica(slots: 2, perTenantCap: 4, extraArguments: ["--batch-size", "1"]) }
                // Only the test's messages: the auto-replies go out to an unknown user, and the bounces
                // come back to Support as mail of their own.
                let list = ids.map { "'\($0)'" }.joined(separator: ", ")
                try await replicas.waitUntil(timeout: .seconds(90), "every copy imported") {
                    try await sc.s.f.count(tenant, """
                        SELECT count(*) FROM email_account_link l JOIN email e ON e.tenant_id = l.tenant_id AND e.id = l.email_id
                        WHERE e.message_id IN (\(list))
                        """) == 2 * ids.count
                }
                #expect(replicas.stopAll().allSatisfy { $0 == 0 })
                let expected = CaseOwnerScenario.Outcome(linked: ["Sales", "Support"], cases: ["Support"], autoReplies: ["Support"])
                for id in ids {
                    let outcome = try await sc.outcome(tenant, id)
                    #expect(outcome == expected, "\(id)")
                }
                #expect(try await sc.s.f.count(tenant, "SELECT count(*) FROM support_case WHERE name LIKE 'Race %'") == ids.count)
            } catch {
                await replicas.tearDown()
                throw error
            }
            await replicas.tearDown()
        }
    }
}
