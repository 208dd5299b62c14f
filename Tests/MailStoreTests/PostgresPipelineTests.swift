import Foundation
import MailTesting
import Testing
@testable import MailStore

@Suite struct PostgresPipelineTests {
    @Test func returnsEachStatementsRowsInOrderAndReusesPreparedStatements() async throws {
        let pool = PostgresPool(.init(conninfo: try TestDatabase.url(), maxConnections: 1))
        defer { pool.close() }
        for round in 1...2 {
            let results = try await pool.withConnection { conn in
                try conn.pipeline([
                    ("BEGIN", false),
                    ("SELECT \(round)::int + 1 AS n", true),
                    ("SELECT generate_series(1, \(3)::int) AS s", true),
                    ("COMMIT", false),
                ])
            }
            #expect(results.count == 4)
            #expect(try results[1].one().decode(Int.self, "n") == round + 1)
            #expect(try results[2].map { try $0.decode(Int.self, "s") } == [1, 2, 3])
            // Both prepared statements were prepared once, in the first round.
            let prepared = try await pool.withConnection { conn in
                try conn.query("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'mailroom_%'").one().decode(Int.self, at: 0)
            }
            #expect(prepared == 2)
        }
    }

    @Test func anErrorSkipsTheRestAndLeavesTheTransactionToRollBack() async throws {
        let pool = PostgresPool(.init(conninfo: try TestDatabase.url(), maxConnections: 1))
        defer { pool.close() }
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { conn in
                do {
                    return try conn.pipeline([
                        ("BEGIN", false),
                        ("CREATE TEMP TABLE pipeline_probe (v int)", false),
                        ("INSERT INTO pipeline_probe VALUES (1)", true),
                        ("SELECT \("not a number")::int", true),
                        ("INSERT INTO pipeline_probe VALUES (2)", false),
                        ("COMMIT", false),
                    ])
                } catch {
                    try conn.executeScript("ROLLBACK")
                    throw error
                }
            }
        }
        #expect(error?.sqlState == "22P02")
        // The same connection is usable, in ordinary mode, and nothing of the pipeline was committed.
        let gone = try await pool.withConnection { conn in
            try conn.query("SELECT to_regclass('pg_temp.pipeline_probe') IS NULL").one().decode(Bool.self, at: 0)
        }
        #expect(gone)
    }
}
