import Foundation
import MailCore
import MailStore
import MailTesting
import Testing

/// Functions have one definition each, in `migrations/functions/`: after migrating, the live body of
/// every function those files define is the file's, and no other version (an older signature from a
/// numbered migration, such as `mailroom_queue_email` of 0005/0006 or `mailroom_may_send` of 0005)
/// is left beside it.
@Suite struct LiveFunctionTests {
    /// (name, body) of each `CREATE OR REPLACE FUNCTION` at the start of a line, body between `$$`.
    static func definitions(in sql: String) -> [(name: String, body: String)] {
        var out: [(String, String)] = []
        var rest = sql[...]
        let head = "\nCREATE OR REPLACE FUNCTION "
        while let start = rest.range(of: head) {
            let afterHead = rest[start.upperBound...]
            let name = String(afterHead.prefix { $0 != "(" })
            guard let open = afterHead.range(of: "$$"), let close = afterHead[open.upperBound...].range(of: "$$") else { break }
            out.append((name, String(afterHead[open.upperBound..<close.lowerBound])))
            rest = afterHead[close.upperBound...]
        }
        return out
    }

    @Test func theFunctionFilesDefineTheOnlyLiveVersion() async throws {
        let directory = TestDatabase.migrationsDirectory + "/functions"
        var defined: [(name: String, body: String)] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where file.hasSuffix(".sql") {
            defined += Self.definitions(in: "\n" + (try String(contentsOfFile: directory + "/" + file, encoding: .utf8)))
        }
        #expect(defined.count >= 20)
        #expect(defined.contains { $0.name == "mailroom_queue_email" } && defined.contains { $0.name == "mailroom_may_send" })
        let names = PostgresArray(defined.map(\.name))
        let live = try await TestDatabase.pool().withConnection { conn in
            try conn.query("""
                SELECT proname::text, prosrc FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
                  AND proname = ANY(\(names)::text[])
                """).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
        }
        for (name, body) in defined {
            let versions = live.filter { $0.0 == name }
            #expect(versions.count == 1, "\(name): \(versions.count) live versions")
            // mailroom_apply_access writes the real role names into mailroom_caller_trusted.
            guard name != "mailroom_caller_trusted" else { continue }
            #expect(versions.first?.1 == body, "\(name): the live body is not the file's")
        }
    }
}
