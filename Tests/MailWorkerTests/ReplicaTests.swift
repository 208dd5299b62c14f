import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

extension WorkerProcessTests {
    /// Several `mailroom worker` processes sharing one database.
    @Suite(.serialized) struct ReplicaTests {
        @Test func threeReplicasRunAThousandJobsExactlyOnce() async throws {
            let f = try await ReplicaFixture.make()
            let trace = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: trace) }
            let tenant = try await f.makeTenant("many")
            for _ in 0..<3 { try f.startReplica(slots: 4, perTenantCap: 12) }
            let ids = try await f.enqueueTraceJobs(tenant, count: 1000, file: trace)
            do {
                try await f.waitUntil(timeout: .seconds(90), "1000 jobs done") {
                    try await f.count("SELECT count(*) FROM job WHERE state = 'done'") == 1000
                }
            } catch {
                await f.tearDown()
                throw error
            }
            let statuses = f.stopAll()
            let lines = ReplicaFixture.traceLines(trace)
            await f.tearDown()
            #expect(statuses == [0, 0, 0], "SIGTERM → exit 0")
            #expect(lines.count == 1000, "each job ran once")
            #expect(Set(lines.map(\.id)) == Set(ids))
        }

        @Test func aKilledReplicasJobsAreRescuedAndFinishedByTheOthers() async throws {
            let f = try await ReplicaFixture.make()
            let trace = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: trace) }
            let tenant = try await f.makeTenant("killed")
            let victim = try f.startReplica(slots: 4, perTenantCap: 12, lease: 3)
            let ids = try await f.enqueueTraceJobs(tenant, count: 120, file: trace, sleepMilliseconds: 400)
            // Let the victim claim a full set of slots, then kill it mid-job.
            try await f.waitUntil(timeout: .seconds(20), "victim running jobs") {
                try await f.count("SELECT count(*) FROM job WHERE state = 'running'") == 4
            }
            let victimJobs = try await f.pool.withConnection { conn in
                try conn.query("SELECT id FROM job WHERE state = 'running'").map { try $0.decode(Int64.self, at: 0) }
            }
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            for _ in 0..<2 { try f.startReplica(slots: 4, perTenantCap: 12, lease: 3) }
            do {
                try await f.waitUntil(timeout: .seconds(90), "all jobs done") {
                    try await f.count("SELECT count(*) FROM job WHERE state = 'done'") == 120
                }
            } catch {
                await f.tearDown()
                throw error
            }
            let rescuedAndRerun = try await f.count("SELECT count(*) FROM job WHERE attempt = 2")
            _ = f.stopAll()
            let lines = ReplicaFixture.traceLines(trace)
            await f.tearDown()
            // Nothing lost: every job finished. Nothing twice: the only jobs run a second time are the ones
            // the dead replica held, and each of those completed exactly once.
            #expect(Set(lines.map(\.id)) == Set(ids))
            let counts = Dictionary(grouping: lines, by: \.id).mapValues(\.count)
            #expect(counts.filter { $0.value > 1 }.keys.allSatisfy { victimJobs.contains($0) })
            #expect(rescuedAndRerun == victimJobs.count, "the victim's jobs were rescued from their expired leases")
        }
    }
}
