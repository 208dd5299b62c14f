import MailStore
import MailTesting
import Testing

/// `mailroom_valid_address` (functions/20_sending.sql): the addresses Mailroom puts into RCPT TO and
/// headers, at the edges of its rules.
@Suite struct AddressValidationTests {
    static let cases: [(String, Bool)] = [
        ("a@b.c", true), ("first.last+tag@mail.example.test", true), ("a-.b@c.d", true), ("a@b--c.d", true),
        ("a@1.2", true), ("o'hara@example.test", true),
        ("a@b", false), ("a@-b.c", false), ("a@b-.c", false), ("a@b.-c", false), ("a@b.c-", false),
        (".a@b.c", false), ("a..b@c.d", false), ("a.@b.c", false), ("a@b..c", false), ("a@.b.c", false), ("a@b.c.", false),
        ("a@b.c\n", false), ("a b@c.d", false), ("a@b_c.d", false), ("@b.c", false), ("a@@b.c", false), ("a@b.c@d.e", false),
        ("Name <a@b.c>", false),
        // Labels of 63 characters, not 64; 254 characters in all, not 255.
        ("a@" + String(repeating: "x", count: 63) + ".com", true), ("a@" + String(repeating: "x", count: 64) + ".com", false),
        ("a@com." + String(repeating: "x", count: 63), true), ("a@com." + String(repeating: "x", count: 64), false),
        ("a@x." + String(repeating: "y", count: 62) + "-", false),
        (String(repeating: "l", count: 250) + "@b.c", true), (String(repeating: "l", count: 251) + "@b.c", false),
    ]

    @Test func addressesAtTheEdgesOfTheRules() async throws {
        let addresses = Self.cases.map(\.0)
        let results = try await TestDatabase.pool().withConnection { conn in
            try conn.query("SELECT mailroom_valid_address(a) FROM unnest(\(PostgresArray(addresses))::text[]) WITH ORDINALITY AS x(a, o) ORDER BY o")
                .map { try $0.decode(Bool.self, at: 0) }
        }
        #expect(results.count == Self.cases.count)
        for ((address, expected), valid) in zip(Self.cases, results) {
            #expect(valid == expected, "\(address)")
        }
        let null = try await TestDatabase.pool().withConnection { try $0.query("SELECT mailroom_valid_address(NULL)").one().decode(Bool?.self, at: 0) }
        #expect(null == nil)
    }
}
