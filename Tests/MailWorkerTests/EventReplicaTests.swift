import Foundation
import MailCore
import MailCrypto
import MailStore
import MailTesting
import Synchronization
import Testing

extension WorkerProcessTests {
    /// Three `mailroom worker` replicas importing for one tenant at once (three mailboxes, so their
    /// import transactions overlap) while a reader pages `mailroom_events` as the CRM role with its
    /// cursor: every page starts right after the cursor and has no gap, and the reader ends with one
    /// `email.received` per stored email, having stepped over none.
    @Suite(.serialized) struct EventReplicaTests {
        @Test func threeReplicasImportingForOneTenantNeverLeaveTheReaderBehindAGap() async throws {
            let r = try await ReplicaFixture.make()
            let f = WorkerFixture(pool: r.pool, server: try TestMailServer.fromEnvironment(), key: try SecretKey.fromEnvironment())
            let boxes = try (0..<3).map { _ in try f.server.createMailbox(prefix: "ev-replicas") }
            let (tenant, _) = try await f.tenant("ev-replicas", accounts: boxes.enumerated().map { i, box in
                .init(name: "Box\(i)", mailbox: box, extra: ["poll_interval: 10s"])
            })
            let crm = PostgresPool(.init(conninfo: try TestDatabase.url(as: .crm, databaseURL: r.url), maxConnections: 1))
            defer { crm.close() }
            for _ in 0..<3 { try r.startReplica(slots: 3) }

            let done = Mutex(false)
            async let reading = LiveEventReader.read(crm, tenant: tenant, pageSize: 50) { done.withLock { $0 } }

            // Several rounds into every mailbox, so imports of the three accounts run side by side.
            let rounds = 4, perRound = 15
            for round in 0..<rounds {
                for (i, box) in boxes.enumerated() {
                    try f.server.deliverToMaildir(box, messages: (0..<perRound).map {
                        TestMessages.plain(id: "ev-\(round)-\(i)-\($0)@x.test", subject: "r\(round) b\(i) n\($0)")
                    })
                }
                try await r.waitUntil(timeout: .seconds(60), "round \(round) imported") {
                    try await f.count(tenant, "SELECT count(*) FROM email") == (round + 1) * boxes.count * perRound
                }
            }
            let statuses = r.stopAll()
            done.withLock { $0 = true }
            let (events, faults) = try await reading
            let seen = events.filter { $0.type == "email.received" }.map(\.payload)
            let stored = try await f.query(tenant) { conn in
                Set(try conn.query("SELECT id FROM email").map { try $0.decode(Int64.self, at: 0) })
            }
            await r.tearDown()
            #expect(statuses.allSatisfy { $0 == 0 })
            #expect(faults.isEmpty, "\(faults)")
            let ids = seen.compactMap { payload -> Int64? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
                return (object["email_id"] as? NSNumber)?.int64Value
            }
            #expect(ids.count == seen.count, "every email.received names its email")
            #expect(ids.count == stored.count && Set(ids) == stored)
        }
    }
}
