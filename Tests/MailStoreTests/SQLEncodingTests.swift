import Foundation
import MailTesting
import Testing
@testable import MailStore

/// The hand-written encoders of bound values (written byte by byte for the import's sake) against
/// what Foundation produces and what PostgreSQL reads back.
@Suite struct SQLEncodingTests {
    static let awkward = ["plain", "quote \" and backslash \\", "tab\tCR\rLF\n", "bell \u{7} nul-free \u{1F} del \u{7F}",
                          "Grüße 😀 — ünïcödé", "", "</script> /slash/", "\\\"\\\""]

    @Test func headerJSONIsTheDocumentJSONEncoderMakes() async throws {
        let rows = Self.awkward.map { ["X-Name", $0] } + [[], ["only"]]
        let fast = PostgresJSON(rows: rows)
        let parsed = try JSONSerialization.jsonObject(with: Data(fast.text.utf8)) as? [[String]]
        #expect(parsed == rows)
        let foundation = try PostgresJSON(rows)
        let pool = try await TestDatabase.pool()
        let same: Bool = try await pool.withConnection { conn in
            try conn.query("SELECT \(fast)::jsonb = \(foundation)::jsonb").one().decode(at: 0)
        }
        #expect(same)
    }

    @Test func textArrayElementsRoundTripThroughPostgres() async throws {
        let pool = try await TestDatabase.pool()
        let back = try await pool.withConnection { conn in
            try conn.query("SELECT \(PostgresArray(Self.awkward))::text[]").one().decode(PostgresTextArray.self, at: 0)
        }
        #expect(back.elements == Self.awkward)
    }

    @Test func timestampsFormatAsTheServerWritesThem() async throws {
        let dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_764_553_337.123456),
                     Date(timeIntervalSince1970: -1_000_000_000.5), Date(timeIntervalSince1970: 4_102_444_799.9999996),
                     Date(timeIntervalSince1970: 951_782_400)]
        let pool = try await TestDatabase.pool()
        for date in dates {
            let text = PostgresTimestamp.format(date)
            let server: String = try await pool.withConnection { conn in
                try conn.query("SELECT to_timestamp(\(date.timeIntervalSince1970))::text").one().decode(at: 0)
            }
            // The server's own rendering of the instant (it drops trailing zeros of the fraction).
            #expect(PostgresTimestamp.parse(text) == PostgresTimestamp.parse(server), "\(text) vs \(server)")
            #expect(text.count == 29, "\(text)")
        }
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 1_764_553_337.123456)) == "2025-12-01 01:42:17.123456+00")
    }
}
