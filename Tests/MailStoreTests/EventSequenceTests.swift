import Foundation
import MailCore
import MailStore
import MailTesting
import Synchronization
import Testing

/// The event log's numbering (functions/50_events.sql): per tenant, 1, 2, 3, … in commit order, with no
/// gap a reader could step over; written only through the emitting function, read through
/// `mailroom_events`, each tenant seeing its own.
@Suite struct EventSequenceTests {
    static func emit(_ conn: PostgresConnection, _ t: TenantID, _ type: String, _ n: Int) throws {
        try EventQueries.emit(conn, tenant: t, type: type, payload: "{\"n\": \(n)}")
    }

    @Test func eventsAreNumberedAtCommitInTheOrderTheyWereWritten() async throws {
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("ev-order", in: owner)
        try await service.transaction(tenant: t) { conn in
            for n in 1...3 { try Self.emit(conn, t, "test.written", n) }
            // Inside the writing transaction nothing is numbered yet, so the cursor shows nothing.
            #expect(try EventQueries.events(conn, after: 0, max: 10).isEmpty)
        }
        // A transaction that rolls back takes its numbers back; a savepoint rolled back, its events.
        do {
            try await service.transaction(tenant: t) { conn in
                try Self.emit(conn, t, "test.lost", 0)
                throw CancellationError()
            }
        } catch is CancellationError {}
        try await service.transaction(tenant: t) { conn in
            try Self.emit(conn, t, "test.written", 4)
            try conn.execute("SAVEPOINT s")
            try Self.emit(conn, t, "test.lost", 0)
            try conn.execute("ROLLBACK TO SAVEPOINT s")
            try Self.emit(conn, t, "test.written", 5)
            // Fired early, the numbering still numbers what comes after at commit.
            try conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            try conn.execute("SET CONSTRAINTS ALL DEFERRED")
            try Self.emit(conn, t, "test.written", 6)
        }
        let events = try await service.transaction(tenant: t) { try EventQueries.events($0, after: 0, max: 100) }
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(events.map(\.payload) == (1...6).map { "{\"n\": \($0)}" })
        #expect(events.allSatisfy { $0.type == "test.written" && $0.version == 1 && $0.id.count == 36 })
        #expect(try await service.transaction(tenant: t) { try EventQueries.events($0, after: 4, max: 1) }.map(\.seq) == [5])
        #expect(try await service.transaction(tenant: t) { try EventQueries.lastSeq($0, tenant: t) } == 6)

        // Switched off, a tenant's changes write no events.
        try await owner.withConnection { _ = try $0.execute("UPDATE tenant SET events_enabled = false WHERE id = \(t)") }
        try await service.transaction(tenant: t) { try Self.emit($0, t, "test.lost", 7) }
        #expect(try await service.transaction(tenant: t) { try EventQueries.events($0, after: 0, max: 100) }.count == 6)
    }

    @Test func theCRMReadsItsOwnTenantsEventsAndWritesNone() async throws {
        let service = try await TestDatabase.pool(as: .service, connections: 1)
        defer { service.close() }
        let crm = try await TestDatabase.pool(as: .crm, connections: 1)
        defer { crm.close() }
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("ev-crm", in: owner)
        let (other, _) = try await TestDatabase.makeTenant("ev-crm-other", in: owner)
        try await service.transaction(tenant: t) { try Self.emit($0, t, "test.written", 1) }
        try await service.transaction(tenant: other) { try Self.emit($0, other, "test.written", 2) }

        let mine = try await crm.transaction(tenant: t) { try EventQueries.events($0, after: 0, max: 10) }
        #expect(mine.map(\.payload) == ["{\"n\": 1}"])
        // The service cannot write another tenant's event either: the row fails the tenant policy.
        await #expect(throws: PostgresError.self) {
            try await service.transaction(tenant: t) { try Self.emit($0, other, "test.forged", 0) }
        }
        for sql: SQL in [
            "SELECT mailroom_emit_event(\(t), 'test.forged', '{}')",
            "INSERT INTO event (tenant_id, seq, type, payload) VALUES (\(t), 99, 'test.forged', '{}')",
            "UPDATE event SET payload = '{}' WHERE tenant_id = \(t)",
            "DELETE FROM event WHERE tenant_id = \(t)",
            "SELECT last_seq FROM event_sequence FOR UPDATE",
            "UPDATE event_sequence SET last_seq = 0",
        ] {
            do {
                _ = try await crm.transaction(tenant: t) { try $0.execute(sql) }
                Issue.record("the CRM was allowed: \(sql)")
            } catch let e as PostgresError {
                #expect(e.sqlState == "42501", "\(sql): \(e)")
            }
        }
        // Nor does a bad cursor or page size pass silently.
        for (after, max) in [(-1, 10), (0, 0), (0, 1001)] {
            await #expect(throws: PostgresError.self) {
                try await crm.transaction(tenant: t) { try EventQueries.events($0, after: Int64(after), max: max) }
            }
        }
        #expect(try await crm.transaction(tenant: other) { try EventQueries.events($0, after: 0, max: 10) }.map(\.payload) == ["{\"n\": 2}"])
    }

    /// Three writers (as three replicas would) commit events of one tenant at once while a reader pages
    /// with its cursor: the reader gets every event exactly once, numbered 1…N without a gap, and
    /// never finds a number below its cursor committed after it read (it would step over it).
    @Test func concurrentWritersNeverLeaveAReaderBehindAGap() async throws {
        let writers = 3, transactions = 150
        let service = try await TestDatabase.pool(as: .service, connections: writers)
        defer { service.close() }
        let reader = try await TestDatabase.pool(as: .crm, connections: 1)
        defer { reader.close() }
        let owner = try await TestDatabase.pool()
        let (t, _) = try await TestDatabase.makeTenant("ev-race", in: owner)

        let writersDone = Mutex(false)
        // The reader pages with its cursor the whole time; each page must start right after the cursor
        // it asked with and run without a gap. A number below the cursor committed later would be
        // stepped over, and missing from what it saw at the end.
        async let reading = LiveEventReader.read(reader, tenant: t, pageSize: 97) { writersDone.withLock { $0 } }
        let written = try await withThrowingTaskGroup(of: [String].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var keys: [String] = []
                    for i in 0..<transactions {
                        let count = 1 + (i * 7 + w) % 4
                        try await service.transaction(tenant: t) { conn in
                            for k in 0..<count {
                                try EventQueries.emit(conn, tenant: t, type: "test.written", payload: "{\"key\": \"\(w)-\(i)-\(k)\"}")
                            }
                            // Transactions of uneven length, so commits overtake each other's writes.
                            _ = try conn.query("SELECT count(*) FROM generate_series(1, \((i * 37 + w * 11) % 5000))").one()
                        }
                        keys += (0..<count).map { "\(w)-\(i)-\($0)" }
                    }
                    return keys
                }
            }
            var all: [String] = []
            for try await keys in group { all += keys }
            return all
        }
        writersDone.withLock { $0 = true }
        let (events, faults) = try await reading
        let cursor = events.last?.seq ?? 0, seen = events.map(\.payload)
        #expect(faults.isEmpty, "\(faults)")
        #expect(cursor == Int64(written.count))
        #expect(Set(seen).count == written.count)
        #expect(Set(seen) == Set(written.map { "{\"key\": \"\($0)\"}" }))
    }
}
