import Foundation
import MailCore
import MailTesting
import Testing
@testable import MailStore

@Suite struct MigratorTests {
    @Test func appliesOnceThenChangesNothing() async throws {
        let (url, name) = try await TestDatabase.createDatabase()
        defer { Task { try? await TestDatabase.dropDatabase(name) } }
        let pool = PostgresPool(.init(conninfo: url, maxConnections: 1))
        defer { pool.close() }
        let migrator = try Migrator(directory: TestDatabase.migrationsDirectory)
        let first = try await pool.withConnection { try migrator.apply(on: $0) }
        #expect(first == migrator.migrations.map(\.name) + migrator.repeatables.map(\.name))
        #expect(!first.isEmpty)
        let schema = { try await pool.withConnection { conn in
            try conn.query("SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'public'").one().decode(String.self, at: 0)
        } }
        let before = try await schema()
        let second = try await pool.withConnection { try migrator.apply(on: $0) }
        #expect(second == [])
        #expect(try await schema() == before)
    }

    @Test func refusesAnEditedReleasedMigration() async throws {
        let (url, name) = try await TestDatabase.createDatabase()
        defer { Task { try? await TestDatabase.dropDatabase(name) } }
        let pool = PostgresPool(.init(conninfo: url, maxConnections: 1))
        defer { pool.close() }
        let original = Migrator(migrations: [.init(version: 1, name: "0001_t", sql: "CREATE TABLE t (x int);")])
        _ = try await pool.withConnection { try original.apply(on: $0) }
        let edited = Migrator(migrations: [.init(version: 1, name: "0001_t", sql: "CREATE TABLE t (x bigint);")])
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { try edited.apply(on: $0) }
        }
        #expect(error?.message.contains("was edited after it was applied") == true)
    }

    /// Functions are code: a changed file of functions/ is applied again, an unchanged one is not.
    @Test func reappliesAChangedFunctionFile() async throws {
        let (url, name) = try await TestDatabase.createDatabase()
        defer { Task { try? await TestDatabase.dropDatabase(name) } }
        let pool = PostgresPool(.init(conninfo: url, maxConnections: 1))
        defer { pool.close() }
        let schema = [Migrator.Migration(version: 1, name: "0001_t", sql: "CREATE TABLE t (x int);")]
        @Sendable func version(_ n: Int) -> Migrator {
            Migrator(migrations: schema, repeatables: [
                .init(name: "functions/a", sql: "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT \(n)';"),
            ])
        }
        let result = { try await pool.withConnection { try $0.query("SELECT f()").one().decode(Int.self, at: 0) } }
        #expect(try await pool.withConnection { try version(1).apply(on: $0) } == ["0001_t", "functions/a"])
        #expect(try await result() == 1)
        #expect(try await pool.withConnection { try version(1).apply(on: $0) } == [])
        #expect(try await pool.withConnection { try version(2).apply(on: $0) } == ["functions/a"])
        #expect(try await result() == 2)
    }

    @Test func concurrentMigratorsApplyExactlyOnce() async throws {
        let (url, name) = try await TestDatabase.createDatabase()
        defer { Task { try? await TestDatabase.dropDatabase(name) } }
        // A slow migration widens the race window: without the advisory lock both would apply it
        // and the second CREATE TABLE would fail.
        let migrator = Migrator(migrations: [
            .init(version: 1, name: "0001_slow", sql: "SELECT pg_sleep(0.5); CREATE TABLE slow (x int);"),
        ])
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<2 {
                group.addTask {
                    let pool = PostgresPool(.init(conninfo: url, maxConnections: 1))
                    defer { pool.close() }
                    return try await pool.withConnection { try migrator.apply(on: $0) }
                }
            }
            return try await group.reduce(into: [[String]]()) { $0.append($1) }
        }
        #expect(applied.sorted { $0.count < $1.count } == [[], ["0001_slow"]])
    }
}
