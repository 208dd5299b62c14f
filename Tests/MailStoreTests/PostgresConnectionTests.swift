import Foundation
import MailCore
import MailTesting
import Testing
@testable import MailStore

@Suite struct PostgresConnectionTests {
    @Test func bindsAndDecodesEveryType() async throws {
        let pool = try await TestDatabase.pool()
        let bytes: [UInt8] = [0, 1, 2, 255, 0x5C, 0x78]
        let when = Date(timeIntervalSince1970: 1_764_553_337.123456)
        let row = try await pool.withConnection { conn in
            try conn.query("""
                SELECT \(42)::int AS i, \(Int64.max)::bigint AS big, \("héllo 'quoted' \\ $1")::text AS s,
                       \(true)::bool AS b, \(bytes)::bytea AS raw, \(when)::timestamptz AS t,
                       \(Optional<String>.none)::text AS n, \(PostgresArray(["a", "b c", "d\"e"]))::text[] AS arr,
                       \(2.5)::float8 AS d
                """).one()
        }
        #expect(try row.decode(Int.self, "i") == 42)
        #expect(try row.decode(Int64.self, "big") == Int64.max)
        #expect(try row.decode(String.self, "s") == "héllo 'quoted' \\ $1")
        #expect(try row.decode(Bool.self, "b") == true)
        #expect(try row.decode([UInt8].self, "raw") == bytes)
        #expect(abs(try row.decode(Date.self, "t").timeIntervalSince(when)) < 0.000_001)
        #expect(try row.decode(String?.self, "n") == nil)
        #expect(try row.decode(PostgresTextArray.self, "arr").elements == ["a", "b c", "d\"e"])
        #expect(try row.decode(Double.self, "d") == 2.5)
        #expect(throws: PostgresError.self) { try row.decode(Int.self, "n") }
    }

    @Test func errorsCarrySQLStateAndNoBoundValues() async throws {
        let pool = try await TestDatabase.pool()
        let secret = "s3cr3t-value-never-logged"
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { conn in
                try conn.query("SELECT \(secret)::int")
            }
        }
        #expect(error?.sqlState == "22P02")
        #expect(error.map { !$0.description.contains(secret) } == true)
    }

    @Test func connectionFailureNeverShowsThePassword() async throws {
        let url = "postgresql://mailroom:wrong-Pa55word@127.0.0.1:1/nothing?connect_timeout=2"
        let pool = PostgresPool(.init(conninfo: url, maxConnections: 1))
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { try $0.query("SELECT 1") }
        }
        #expect(error?.code == .connectionFailed)
        #expect(error.map { !$0.description.contains("wrong-Pa55word") } == true)
    }

    @Test func transactionRollsBackOnError() async throws {
        let pool = try await TestDatabase.pool()
        let (tenant, _) = try await TestDatabase.makeTenant("txn", in: pool)
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await pool.transaction(tenant: tenant) { conn in
                try conn.execute("INSERT INTO team (tenant_id, name) VALUES (\(tenant), 'rolled-back')")
                throw Abort()
            }
        }
        let count = try await pool.transaction(tenant: tenant) { conn in
            try conn.query("SELECT count(*) FROM team WHERE name = 'rolled-back'").one().decode(Int.self, at: 0)
        }
        #expect(count == 0)
    }

    @Test func poolServesMoreTasksThanConnections() async throws {
        let app = "pool-test-\(UInt32.random(in: 0...UInt32.max))"
        let pool = PostgresPool(.init(conninfo: try TestDatabase.url(), maxConnections: 3, applicationName: app))
        defer { pool.close() }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await pool.withConnection { conn in
                        try conn.query("SELECT \(i)::int FROM pg_sleep(0.005)").one().decode(Int.self, at: 0)
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<40))
        let backends = try await pool.withConnection { conn in
            try conn.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = \(app) AND pid <> pg_backend_pid()").one().decode(Int.self, at: 0)
        }
        #expect(backends <= 2, "never more than maxConnections open")
    }

    /// After a PostgreSQL restart every idle pooled connection is dead; the pool must notice before
    /// handing one out instead of failing the caller's first statement. Terminating the backends is
    /// the same event as the server going away, seen from the client.
    @Test func idleConnectionsClosedByTheServerAreReplacedBeforeUse() async throws {
        let app = "pool-stale-\(UInt32.random(in: 0...UInt32.max))"
        let pool = PostgresPool(.init(conninfo: try TestDatabase.url(), maxConnections: 2, applicationName: app))
        defer { pool.close() }
        let admin = try await TestDatabase.pool()
        // Two connections, both idle in the pool afterwards.
        let before = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try await pool.withConnection { try $0.query("SELECT pg_backend_pid() FROM pg_sleep(0.05)").one().decode(Int.self, at: 0) }
                }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(before.count == 2)
        let terminated = try await admin.withConnection { conn in
            try before.filter { try conn.query("SELECT pg_terminate_backend(\($0))").one().decode(Bool.self, at: 0) }.count
        }
        #expect(terminated == 2)
        // The backends exit asynchronously after the signal: wait until the server lists none of them.
        let exited = try await Eventually.until(timeout: .seconds(10)) {
            try await admin.withConnection { conn in
                try conn.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = \(app)").one().decode(Int.self, at: 0)
            } == 0
        }
        #expect(exited, "terminated backends did not exit")
        guard exited else { return }
        let first = try await pool.withConnection { try $0.query("SELECT pg_backend_pid()").one().decode(Int.self, at: 0) }
        let second = try await pool.withLeasedConnection { conn in
            try await conn.run { try $0.query("SELECT pg_backend_pid()").one().decode(Int.self, at: 0) }
        }
        #expect(!before.contains(first))
        #expect(!before.contains(second))
    }
}
